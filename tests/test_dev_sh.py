"""dev.sh on a machine it cannot serve: one clear line, exit 2, before any work."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def old_python() -> str | None:
    """A real interpreter older than 3.11 (pyenv's shims need pyenv's environment, so not those)."""
    candidates = [shutil.which(n) for n in ("python3.10", "python3.9", "python3.8")]
    candidates += [str(p) for p in sorted(Path("/root/.pyenv/versions").glob("3.*/bin/python3"))]
    for candidate in filter(None, candidates):
        if "shims" in candidate:
            continue
        version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] < (3, 11))"],
                                 capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
        if version.stdout.strip() == "True":
            return candidate
    return None


def run_setup(tmp_path, python: str) -> subprocess.CompletedProcess:
    # A copy of dev.sh in an empty folder: it must refuse before creating anything.
    script = tmp_path / "dev.sh"
    shutil.copy(REPO / "dev.sh", script)
    return subprocess.run(["bash", str(script), "setup"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": python}, timeout=60)


def test_setup_refuses_a_python_older_than_3_11(tmp_path):
    python = old_python()
    if python is None:
        pytest.skip("no Python older than 3.11 on this machine to try")
    result = run_setup(tmp_path, python)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "needs 3.11+" in result.stderr, result.stderr
    assert not (tmp_path / ".venv").exists()


def test_setup_names_a_missing_python(tmp_path):
    result = run_setup(tmp_path, "/no/such/python3")
    assert result.returncode == 2 and "no '/no/such/python3' found" in result.stderr, result.stderr


def test_gpu_command_on_a_machine_without_cuda_is_one_line_exit_2():
    """bash dev.sh gpu, prepared for a GPU loan, says in one line where CUDA is missing."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: dev.sh gpu would run")
    result = subprocess.run(["bash", str(REPO / "dev.sh"), "gpu"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no CUDA GPU"), result.stderr


def test_serve_and_build_refuse_an_unknown_option():
    result = subprocess.run(["bash", str(REPO / "dev.sh"), "build", "--exec"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "unknown option '--exec'" in result.stderr, result.stderr


def test_drift_refuses_a_record_path_in_no_folder_before_downloading_anything(tmp_path):
    """bash dev.sh drift downloads the newest libraries (issue 27 §6), so it is not in the suite;
    its bad input is: one error line, exit 2, before any download."""
    result = subprocess.run(["bash", str(REPO / "dev.sh"), "drift", "--json", str(tmp_path / "none" / "d.json")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: --json"), result.stderr
    assert "installing" not in result.stdout
    result = subprocess.run(["bash", str(REPO / "dev.sh"), "drift", "--venv", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: --venv") and not result.stdout, result.stderr


def test_drift_names_the_first_error_line_a_reader_would_search_for():
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from drift import first_error

    traceback = ("Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n"
                 "    TrainingArguments(evaluation_strategy='no')\n"
                 "TypeError: TrainingArguments.__init__() got an unexpected keyword argument 'evaluation_strategy'\n")
    assert first_error(traceback).startswith("TypeError: TrainingArguments.__init__()")
    assert first_error("loading\nx.py: error: --data: bad.csv has no column 'text'\n").startswith("x.py: error:")
    assert first_error("just stopped\n") == "just stopped" and first_error("") == ""


def test_gpu_dry_run_builds_every_gpu_preset_on_the_cpu_and_takes_a_step():
    """bash dev.sh gpu --dry-run (issue 28 §4): every snippet's gpu preset, on the CPU, up to its first
    optimisation step, so a preset that would crash on a GPU machine fails here first. Computed once
    per content of the snippets, the runtime and the dry run itself."""
    import hashlib
    import json
    import tempfile

    from fieldguide_site.execute import cached_check

    sources = sorted([*(REPO / "snippets").rglob("*.py"), *(REPO / "src" / "fieldguide").rglob("*.py"),
                      REPO / "benchmarks" / "gpu_run.py", REPO / "benchmarks" / "dry_run" / "sitecustomize.py"])
    digest = hashlib.sha256(b"".join(str(p.relative_to(REPO)).encode() + p.read_bytes() for p in sources
                                     if "__pycache__" not in p.parts)).hexdigest()

    def compute():
        record = Path(tempfile.mkdtemp(prefix="fieldguide-dry-run-json-")) / "dry_run.json"
        done = subprocess.run(["bash", str(REPO / "dev.sh"), "gpu", "--dry-run", "--limit", str(DRY_RUN_LIMIT),
                               "--json", str(record)], cwd=REPO, capture_output=True, text=True, timeout=1500)
        rows = json.loads(record.read_text())["snippets"] if record.is_file() else []
        return {"exit": done.returncode, "stdout": done.stdout[-6000:], "stderr": done.stderr[-3000:], "rows": rows}

    data = cached_check("fine_tuning_strategies/sft_scale_out", compute, digest, str(DRY_RUN_LIMIT))
    print(data["stdout"])
    assert data["exit"] == 0, data["stdout"] + data["stderr"]
    rows = {r["snippet"]: r for r in data["rows"]}
    every = sorted(p.relative_to(REPO / "snippets").with_suffix("").as_posix() for p in (REPO / "snippets").glob("*/*.py"))
    assert sorted(rows) == every
    # failed: the snippet exited with an error before its first step, or the step hook did not load
    assert not [r for r in rows.values() if r["status"] == "failed"]
    stepped = [n for n, r in rows.items() if r["status"] == "step"]
    # a floor, not a count of all: which presets reach their step within the limit depends on the machine
    assert len(stepped) >= 5, f"only {len(stepped)} snippets reached an optimisation step: {stepped}"
    for name in TRAINS_NOTHING:
        assert rows[name]["status"] in ("completed", "forward only", "not run"), rows[name]


DRY_RUN_LIMIT = 30  # seconds per snippet; one still evaluating then is reported as "forward only"
# Snippets whose gpu preset runs no optimiser: statistics, prompting, reading a packaged or saved model.
TRAINS_NOTHING = {"datasheet/customer_sentiment_stats", "selecting_adaptation_strategy/compare_strategies",
                  "freezing_encoder_parameters/use_saved_heads", "prompting_language_models/smollm2_zero_few_shot",
                  "applications_of_ptms/one_encoder_many_uses", "downstream_task_and_architecture/heads_on_one_body"}
