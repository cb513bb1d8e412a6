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
