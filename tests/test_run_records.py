"""Issue 23 §1: each snippet's last verified run is committed (results/<page>/<snippet>/), so a
fresh clone's build shows every result without executing; a stale record, a damaged one or one
on which a claim does not hold fails here, naming the snippet and the command that refreshes it.
The suite's own tests still execute every snippet from scratch (run_snippet never reads a record)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fieldguide.claims import CLAIMS, report
from fieldguide_site import execute
from fieldguide_site.records import all_snippets

SNIPPETS = all_snippets()


@pytest.mark.parametrize("name", SNIPPETS)
def test_every_snippet_has_a_current_intact_record_on_which_its_claims_hold(name):
    folder = execute.record_folder(name)
    assert (folder / "run.json").is_file(), f"no committed record of {name}: {execute.REFRESH}"
    assert execute.intact_run(folder), f"results/{name} is damaged (files differ from its run.json): {execute.REFRESH}"
    recorded = json.loads((folder / "run.json").read_text())
    current = execute.code_key(name, execute.default_args())
    assert recorded.get("code_key") == current, (
        f"results/{name} is stale: it was measured on other code (code key {recorded.get('code_key')}, now "
        f"{current}): {execute.REFRESH}")
    run = execute.committed_record(name)
    assert run is not None and run.record["provenance"]["date"]
    if name in CLAIMS:
        text, failed = report(name, run.results)
        assert not failed, f"results/{name}: claims not held on the committed record: {failed}\n{text}"


def test_records_are_small_and_hold_no_checkpoints():
    files = [f for f in execute.RECORDS.rglob("*") if f.is_file()]
    size = sum(f.stat().st_size for f in files)
    print(f"{len(files)} files, {size / 1024:.0f} KiB in results/")
    assert not [f for f in files if f.suffix in {".safetensors", ".bin", ".pt", ".gguf", ".ckpt"}]
    assert size < 8 * 2**20


def test_the_build_prefers_a_fresh_run_then_the_record_then_executes(tmp_path, monkeypatch):
    """page_run: a record of the current code stands in for a run, never for other code, and not
    when told to re-measure (FIELDGUIDE_RECORDS=0, dev.sh serve --execute)."""
    name = "applications_of_ptms/one_encoder_many_uses"
    monkeypatch.setenv("FIELDGUIDE_RUNS", str(tmp_path / "runs"))  # no local run
    records = tmp_path / "results"
    monkeypatch.setattr(execute, "RECORDS", records)
    executed = []
    monkeypatch.setattr(execute, "run_snippet", lambda n, **kw: executed.append(n) or "executed")
    assert execute.page_run(name) == "executed" and executed == [name]  # no record: it executes

    folder = records / name
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"metrics": {}, "figures": {}}))
    (folder / "stdout.txt").write_text("measured elsewhere\n")
    sha = {f: execute.file_sha256(folder / f) for f in ("results.json", "stdout.txt")}
    run_json = {"seconds": 1.0, "sha256": sha, "provenance": {"date": "2026-12-07"},
                "code_key": execute.code_key(name, execute.default_args())}
    (folder / "run.json").write_text(json.dumps(run_json))
    shown = execute.page_run(name)
    assert shown.stdout == "measured elsewhere\n" and shown.cached and executed == [name]

    monkeypatch.setenv("FIELDGUIDE_RECORDS", "0")
    assert execute.page_run(name) == "executed"
    monkeypatch.delenv("FIELDGUIDE_RECORDS")

    (folder / "run.json").write_text(json.dumps({**run_json, "code_key": "0" * 20}))  # other code
    assert execute.page_run(name) == "executed"
    (folder / "run.json").write_text(json.dumps(run_json))
    (folder / "stdout.txt").write_text("edited by hand\n")  # damaged
    assert execute.page_run(name) == "executed"
    shutil.rmtree(folder)


def test_the_code_key_holds_nothing_of_this_machine(monkeypatch):
    """A clone on another machine computes the same code key: the environment, the device and
    the installed versions enter only the full run key."""
    name = "applications_of_ptms/one_encoder_many_uses"
    args = execute.default_args()
    before = execute.code_key(name, args), execute.run_key(name, args)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # not the site's own thread count
    assert execute.code_key(name, args) == before[0] and execute.run_key(name, args) != before[1]
    assert execute.code_key(name, [*args, "--seed", "1"]) != before[0]


def test_a_fresh_clone_builds_every_page_from_the_records_without_executing(tmp_path):
    """Issue 23 §4: the served site of a fresh clone. With no run of its own (an empty runs folder),
    the strict build shows every page's results from the committed records: no snippet executes and
    no page carries a "not executed" placeholder."""
    import os
    import subprocess
    import sys

    missing = [name for name in SNIPPETS if execute.committed_record(name) is None]
    assert not missing, f"no current record of {missing}: the fresh clone's build would execute them"
    env = {**os.environ, "FIELDGUIDE_RUNS": str(tmp_path / "runs")}
    env.pop("FIELDGUIDE_EXECUTE", None)
    env.pop("FIELDGUIDE_RECORDS", None)
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=execute.REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fieldguide: running" not in done.stderr, "a snippet executed during a fresh clone's build"
    placeholders = [p.relative_to(site).as_posix() for p in site.rglob("*.html")
                    if "not executed" in p.read_text(encoding="utf-8")]
    assert not placeholders, f"pages with a 'not executed' placeholder: {placeholders}"
    pages = list(site.rglob("index.html"))
    assert len(pages) >= 20, f"only {len(pages)} pages built"
