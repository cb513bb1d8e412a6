"""The run cache cannot serve a wrong result: what it keys on, integrity, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from fieldguide_site import execute

COUNTING_SNIPPET = textwrap.dedent("""
    import os, time
    from pathlib import Path
    from fieldguide import ResultsWriter, run_main, snippet_parser
    def main(args):
        with open(Path(__file__).with_suffix(".count"), "a") as count:  # one line per real run
            count.write("ran\\n")
        time.sleep(float(os.environ.get("DEMO_SLEEP", "0")))
        w = ResultsWriter(args.out, "demo/count", args)
        w.metric("value", 7)
        print("value is 7")
        w.save()
    run_main(main, snippet_parser("demo"))
""")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    folder = tmp_path / "snippets" / "demo"
    folder.mkdir(parents=True)
    (folder / "count.py").write_text(COUNTING_SNIPPET)
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    monkeypatch.setattr(execute, "REPO", tmp_path)
    monkeypatch.setenv("FIELDGUIDE_RUNS", str(tmp_path / "runs"))
    return folder


def runs_of(demo) -> int:
    count = demo / "count.count"
    return len(count.read_text().splitlines()) if count.exists() else 0


def test_a_damaged_result_is_run_again_not_served(demo):
    first = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    data = json.loads((first.out / "results.json").read_text())
    data["metrics"]["value"]["value"] = 8  # a result that no run produced
    (first.out / "results.json").write_text(json.dumps(data))
    again = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    assert not again.cached and again.metric("value") == 7 and runs_of(demo) == 2
    (again.out / "stdout.txt").write_text("value is 8\n")
    assert not execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True).cached
    assert execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True).cached
    assert runs_of(demo) == 3


def test_the_key_holds_the_device_used_and_the_result_environment(demo, monkeypatch):
    args = ["--scale", "ci", "--device", "cpu"]
    plain = execute.run_key("demo/count", args)
    assert execute.run_key("demo/count", ["--scale", "ci", "--device", "cuda"]) != plain or \
        execute.device_used("cuda") == execute.device_used("cpu")  # the same where no GPU is present
    for name in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "OMP_NUM_THREADS", "FIELDGUIDE_TORCH_THREADS"):
        before = os.environ.get(name)
        monkeypatch.setenv(name, f"{before}-another-value")  # differs from whatever the run exported
        assert execute.run_key("demo/count", args) != plain, name
        if before is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, before)
    monkeypatch.setenv("FIELDGUIDE_NETGUARD_LOG", "/tmp/elsewhere.log")  # where a log goes changes nothing
    assert execute.run_key("demo/count", args) == plain
    record = json.loads((execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True).out
                         / "run.json").read_text())
    assert record["device"].startswith("cpu:") and record["python"]


def test_the_notebook_cache_is_keyed_like_a_snippet_run(demo, monkeypatch):
    """Issue 27 §4: mkdocs-jupyter's cache folder changes with an upgraded library, another
    numerics path and the runtime's code, so none of them serves a stale notebook."""
    plain = execute.notebook_cache_key()
    assert execute.notebook_cache_key() == plain
    monkeypatch.setattr(execute, "distributions_digest", lambda: "transformers==99.0")
    upgraded = execute.notebook_cache_key()
    monkeypatch.setenv("MKL_CBWR", f"{os.environ.get('MKL_CBWR')}-another-value")
    other_path = execute.notebook_cache_key()
    monkeypatch.setattr(execute, "library_digest", lambda: "another runtime")
    assert len({plain, upgraded, other_path, execute.notebook_cache_key()}) == 4


ASK_DEVICE = ("import sys; from fieldguide_site import execute; "
              "print(execute.device_used('cpu'), 'torch' in sys.modules)")


def test_the_device_is_asked_of_torch_once_and_again_when_what_decides_it_changes(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    env = {**os.environ, "FIELDGUIDE_RUNS": str(runs)}
    env.pop("ATEN_CPU_CAPABILITY", None)

    def ask(**extra):
        done = subprocess.run([sys.executable, "-c", ASK_DEVICE], env={**env, **extra}, capture_output=True,
                              text=True, check=True)
        device, imported = done.stdout.split()
        assert imported == "False"  # a build never imports torch for this
        return device, sorted(p.read_text() for p in (runs / ".device").iterdir())

    first, kept = ask()
    assert first.startswith("cpu:") and kept == [first]
    assert ask() == (first, [first])                      # remembered
    assert ask(ATEN_CPU_CAPABILITY="default") == ("cpu:DEFAULT", sorted([first, "cpu:DEFAULT"]))  # a fact changed
    memo = next(p for p in (runs / ".device").iterdir() if p.read_text() == first)
    memo.write_text("cuda:garbage\nmore")                # a damaged memo is not served: asked again
    assert ask() == (first, sorted([first, "cpu:DEFAULT"]))
    # In a process whose torch started on this machine's kernels, the answer still follows the
    # environment a snippet would start in (a test that sets the code path, as test_portable_results).
    import torch

    if "ATEN_CPU_CAPABILITY" not in os.environ:
        assert f"cpu:{torch.backends.cpu.get_cpu_capability()}" == first
    monkeypatch.setenv("FIELDGUIDE_RUNS", str(runs))
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert execute.device_used("cpu") == "cpu:DEFAULT"
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert execute.device_used("cpu") == first


def test_only_library_modules_a_snippet_imports_change_its_key(tmp_path, monkeypatch):
    library = tmp_path / "fieldguide"
    (library / "data").mkdir(parents=True)
    (library / "__init__.py").write_text("from fieldguide.base import thing\n")
    (library / "base.py").write_text("thing = 1\n")
    (library / "lab.py").write_text("from fieldguide import base\n")
    (library / "other.py").write_text("x = 1\n")
    snippets = tmp_path / "snippets" / "demo"
    snippets.mkdir(parents=True)
    (snippets / "uses_lab.py").write_text("def main():\n    from fieldguide import lab\n")
    monkeypatch.setattr(execute, "LIBRARY", library)
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    path = execute.snippet_path("demo/uses_lab")
    assert [p.name for p in execute.library_modules(path)] == ["__init__.py", "base.py", "lab.py"]
    before = execute.run_key("demo/uses_lab", [])
    (library / "other.py").write_text("x = 2  # a module the snippet never imports\n")
    assert execute.run_key("demo/uses_lab", []) == before
    (library / "base.py").write_text("thing = 2  # reached through lab\n")
    assert execute.run_key("demo/uses_lab", []) != before


def test_two_processes_on_one_key_run_it_once_and_both_get_the_result(demo, tmp_path):
    runner = tmp_path / "runner.py"
    runner.write_text(textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from fieldguide_site import execute
        execute.SNIPPETS, execute.REPO = Path({str(tmp_path / "snippets")!r}), Path({str(tmp_path)!r})
        run = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
        print(json.dumps({{"value": run.metric("value"), "out": str(run.out), "stdout": run.stdout}}))
    """))
    env = {**__import__("os").environ, "DEMO_SLEEP": "3"}
    both = [subprocess.Popen([sys.executable, str(runner)], stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    answers = [json.loads(p.communicate(timeout=120)[0]) for p in both]
    assert all(p.returncode == 0 for p in both)
    assert answers[0] == answers[1] == {**answers[0], "value": 7, "stdout": "value is 7\n"}
    assert runs_of(demo) == 1
    leftovers = [p.name for p in (tmp_path / "runs" / "demo" / "count").iterdir() if "partial" in p.name]
    assert leftovers == []


def test_cached_check_computes_once_per_key_and_again_when_the_check_changes(demo):
    calls = []

    def evidence():
        calls.append(1)
        return {"losses": [1.0, 0.5]}

    assert execute.cached_check("demo/count", evidence, "v1") == {"losses": [1.0, 0.5]}
    assert execute.cached_check("demo/count", evidence, "v1") == {"losses": [1.0, 0.5]}
    assert len(calls) == 1
    execute.cached_check("demo/count", evidence, "v2")  # other checking code: computed anew
    (demo / "count.py").write_text(COUNTING_SNIPPET + "\n# the snippet changed\n")
    execute.cached_check("demo/count", evidence, "v2")
    assert len(calls) == 3


def test_every_run_records_its_provenance_and_the_page_shows_it(demo):
    from fieldguide_site.executed_results import _output

    run = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    p = run.record["provenance"]
    assert p["date"] and p["device"] and "cores" in p["device"] and p["versions"]["torch"]
    assert p["seconds"] > 0 and p["peak_memory_bytes"] > 10 * 2 ** 20  # a Python process with torch imported
    shown = _output(run, None, "t.md")
    assert "--device cpu (ran on cpu:" in shown
    assert 'class="fg-provenance"' in shown and "peak memory" in shown and f"torch {p['versions']['torch']}" in shown


def test_section_markers_key_nothing_but_code_does(tmp_path, monkeypatch):
    """A page shows a snippet's key lines by section markers; adding them must not re-run it."""
    snippets = tmp_path / "snippets" / "page"
    snippets.mkdir(parents=True)
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    path = snippets / "demo.py"
    path.write_text("import sys\n\ndef main():\n    return 1\n")
    before = execute.run_key("page/demo", ["--scale", "ci"])
    path.write_text("import sys\n\n# --8<-- [start:idea]\ndef main():\n    return 1\n# --8<-- [end:idea]\n")
    assert execute.run_key("page/demo", ["--scale", "ci"]) == before
    path.write_text("import sys\n\n# --8<-- [start:idea]\ndef main():\n    return 2\n# --8<-- [end:idea]\n")
    assert execute.run_key("page/demo", ["--scale", "ci"]) != before


THREADS_SNIPPET = textwrap.dedent("""
    import torch
    from fieldguide import ResultsWriter, run_main, snippet_parser
    def main(args):
        w = ResultsWriter(args.out, "demo/threads", args)
        w.metric("threads", torch.get_num_threads())
        w.save()
    run_main(main, snippet_parser("demo"))
""")


def test_a_site_run_uses_its_share_of_the_cores_unless_the_environment_names_a_count(demo, monkeypatch):
    (demo / "threads.py").write_text(THREADS_SNIPPET)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    share = max(1, len(os.sched_getaffinity(0)) // execute.RUNS_AT_ONCE)  # one thread on a 2-core machine
    run = execute.run_snippet("demo/threads", scale="ci", device="cpu", quiet=True)
    assert run.metric("threads") == share and run.record["environment"]["OMP_NUM_THREADS"] == str(share)
    monkeypatch.setenv("OMP_NUM_THREADS", str(share + 1))
    run = execute.run_snippet("demo/threads", scale="ci", device="cpu", quiet=True)
    assert not run.cached and run.metric("threads") == share + 1
    assert run.record["environment"]["OMP_NUM_THREADS"] == str(share + 1)


def test_a_run_past_its_time_limit_is_killed_and_fails_with_nothing_published(demo, monkeypatch):
    monkeypatch.setenv("DEMO_SLEEP", "30")
    with pytest.raises(execute.SnippetFailed, match=r"killed at the 2 s limit"):
        execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True, timeout=2)
    args = execute.default_args("ci", "cpu")
    assert not execute.intact_run(execute.runs_dir() / "demo/count" / execute.run_key("demo/count", args))


def test_run_all_starts_the_longest_first_and_readers_of_other_runs_last(demo, monkeypatch):
    for name in ("short", "long", "unrecorded"):
        (demo / f"{name}.py").write_text("")
    (demo / "reader.py").write_text('SOURCES = ["demo/long"]\n')
    seconds = {"demo/short": 5.0, "demo/long": 500.0, "demo/reader": 900.0}
    monkeypatch.setattr(execute, "expected_seconds", lambda name: seconds.get(name, 60.0))
    started = []

    def fake_run(name, quiet=False, timeout=None):
        started.append(name)
        if name == "demo/short":
            raise execute.SnippetFailed("short failed")

    monkeypatch.setattr(execute, "run_snippet", fake_run)
    failed = execute.run_all(["demo/short", "demo/reader", "demo/unrecorded", "demo/long"], workers=1,
                             also=[(100.0, lambda: started.append("also"))])
    assert started == ["demo/long", "also", "demo/unrecorded", "demo/short", "demo/reader"]
    assert failed == {"demo/short": "short failed"}


def test_the_suite_runs_beforehand_only_what_the_selected_tests_run():
    """conftest's pre-test runs: every snippet for the library-warnings test, a page's snippets for
    its test, none for tests that read committed records or build the site from them."""
    from pathlib import Path

    from conftest import RUNS_EVERY_SNIPPET, snippets_used
    from fieldguide_site.records import all_snippets

    tests = Path(__file__).parent

    def used(*names):
        return snippets_used([type("Item", (), {"fspath": tests / name.split("::")[0], "name": name.split("::")[-1]})()
                              for name in names])

    for test in RUNS_EVERY_SNIPPET:  # a renamed test would run its snippets one at a time, inside itself
        file, name = test.split("::")
        assert f"def {name}(" in (tests / file).read_text(encoding="utf-8"), test
    assert used("test_library_warnings.py::test_no_snippet_run_raises_a_deprecation_of_ours") == all_snippets()
    assert used("test_library_warnings.py::test_the_warning_reader_finds_a_library_deprecation") == []
    assert used("test_llm_alignment.py") == [n for n in all_snippets() if n.startswith("llm_alignment/")]
    assert used("test_run_records.py", "test_claims.py", "test_site_pages.py", "test_typed_numbers.py") == []


def test_serve_execute_runs_every_snippet_two_at_a_time_before_building(monkeypatch):
    """dev.sh serve --execute (FIELDGUIDE_RECORDS=0): on_pre_build runs every snippet through
    run_all first; a build that shows the committed records, or a --no-exec preview, runs none."""
    from fieldguide_site import hooks
    from fieldguide_site.records import all_snippets

    asked = []
    monkeypatch.setattr(execute, "run_all", lambda names, **kw: asked.append(list(names)) or {})
    for records, executing in (("1", "1"), ("0", "0")):
        monkeypatch.setenv("FIELDGUIDE_RECORDS", records)
        monkeypatch.setenv("FIELDGUIDE_EXECUTE", executing)
        hooks.on_pre_build({})
    assert asked == []
    monkeypatch.setenv("FIELDGUIDE_RECORDS", "0")
    monkeypatch.setenv("FIELDGUIDE_EXECUTE", "1")
    hooks.on_pre_build({})
    assert asked == [all_snippets()]


def test_the_suite_remembers_passes_by_the_whole_tree_and_forgets_them_on_any_change(tmp_path, monkeypatch):
    """Issue 28 §2: an unchanged re-run skips what passed on this exact tree; a changed file, a new
    file, the course seed or a variable a run reads gives another key (an ignored file does not)."""
    from conftest import tree_key

    repo = tmp_path / "checkout"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".gitignore").write_text(".cache/\n")
    (repo / "page.md").write_text("one\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    first = tree_key(repo)
    assert first and tree_key(repo) == first
    (repo / ".cache").mkdir()
    (repo / ".cache" / "run.json").write_text("{}")
    assert tree_key(repo) == first, "an ignored file changed the key"
    (repo / "page.md").write_text("two\n")
    edited = tree_key(repo)
    assert edited != first
    (repo / "new.md").write_text("new\n")  # untracked, not ignored: a test may read it
    added = tree_key(repo)
    assert added != edited
    (tmp_path / "shared" / "seed").mkdir(parents=True)
    (tmp_path / "shared" / "seed" / "course.txt").write_text("seed\n")
    seeded = tree_key(repo)
    assert seeded != added
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert tree_key(repo) != seeded
    assert tree_key(tmp_path / "not-a-checkout") is None
    # Asking for every test again re-runs tests, not snippets: the runs' key does not see it.
    before, key = execute.result_environment(), tree_key(repo)
    monkeypatch.setenv("FIELDGUIDE_RETEST", "1")
    assert execute.result_environment() == before and tree_key(repo) == key
