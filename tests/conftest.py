"""Suite-wide set-up: offline, network guard, and one strict build of the site."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_GUARD_DIR = REPO / "tests" / "netguard"
_LOG = Path(tempfile.gettempdir()) / f"fieldguide-netguard-{os.getpid()}.log"

os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NO_MKDOCS_2_WARNING="1",
                  FIELDGUIDE_NETGUARD_LOG=str(_LOG), MPLBACKEND="Agg")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(_GUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])
_LOG.unlink(missing_ok=True)

from fieldguide_site import netguard  # noqa: E402

netguard.install()


def pytest_sessionfinish(session, exitstatus):
    if _LOG.exists() and _LOG.read_text().strip():
        print(f"\nNETWORK GUARD: connections to non-loopback addresses during the suite:\n{_LOG.read_text()}")
        session.exitstatus = 1
        return
    _remember_passes()


# An unchanged re-run (issue 28 §2): a test that passed on exactly this tree and environment is not
# run again; it is reported skipped, with when it passed. Any changed file (tracked, or new and not
# ignored), the course seed beside the checkout, the Python environment, the browser, the wheelhouse
# or a variable a run reads gives another key, and every test runs. FIELDGUIDE_RETEST=1 runs all.
MEMO = REPO / ".cache" / "test-memo"
_PASSED: set[str] = set()
_FAILED: set[str] = set()
_KEY: list[str | None] = []


def tree_key(repo: Path = REPO) -> str | None:
    """What a test can read, as one digest; None outside a git checkout (then nothing is remembered)."""
    import hashlib
    import json
    import shutil

    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=repo, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    digest = hashlib.sha256()
    seed = repo.parent / "shared" / "seed"
    files = [repo / os.fsdecode(name) for name in sorted(set(listed.split(b"\0")) - {b""})]
    files += sorted(seed.rglob("*")) if seed.is_dir() else []
    files += [repo / ".venv" / ".setup-stamp", Path(os.environ.get("FIELDGUIDE_CACHE", Path.home() / ".cache" / "fieldguide"))
              / "wheelhouse" / ".stamp", Path("/proc/cpuinfo")]
    for path in files:
        digest.update(str(path).encode() + b"\0")
        if path.is_file():
            text = path.read_bytes()
            if path.name == "cpuinfo":  # the CPU's model and flags (its code path), not its clock
                text = b"\n".join(line for line in text.splitlines() if line.startswith((b"model name", b"flags")))
            digest.update(hashlib.sha256(text).digest())
    browser = shutil.which("chromium")
    environment = {k: v for k, v in os.environ.items()
                   if k.startswith(("FIELDGUIDE_", "OMP_", "MKL_", "ATEN_", "CUDA_", "TORCH", "HF_", "PYTHON", "CI"))
                   and k not in ("FIELDGUIDE_NETGUARD_LOG", "FIELDGUIDE_RETEST")}
    digest.update(json.dumps([sys.version, sys.executable, os.cpu_count(), environment, browser,
                              browser and os.stat(browser).st_mtime], sort_keys=True).encode())
    return digest.hexdigest()[:24]


def _memo_key() -> str | None:
    if not _KEY:
        _KEY.append(tree_key())
    return _KEY[0]


def _skip_remembered_passes(items) -> None:
    import json

    key = _memo_key()
    memo = MEMO / f"{key}.json"
    if key is None or os.environ.get("FIELDGUIDE_RETEST") == "1" or not memo.is_file():
        return
    passed = json.loads(memo.read_text())["passed"]  # node id -> when it passed
    for item in items:
        if item.nodeid in passed:
            item.add_marker(pytest.mark.skip(reason=f"passed on this exact tree and environment at "
                                                    f"{passed[item.nodeid]} (FIELDGUIDE_RETEST=1 runs it again)"))


def pytest_runtest_logreport(report):
    if report.failed:
        _FAILED.add(report.nodeid)
    elif report.when == "call" and report.passed:
        _PASSED.add(report.nodeid)


def _remember_passes() -> None:
    import json
    import time

    key = _memo_key() if _PASSED else None
    if key is None:
        return
    memo = MEMO / f"{key}.json"
    passed = json.loads(memo.read_text())["passed"] if memo.is_file() else {}
    now = time.strftime("%Y-%m-%d %H:%M")
    passed = {node: when for node, when in {**passed, **{node: now for node in _PASSED}}.items() if node not in _FAILED}
    MEMO.mkdir(parents=True, exist_ok=True)
    for old in MEMO.glob("*.json"):  # one tree remembered: the last
        if old != memo:
            old.unlink()
    partial = memo.with_suffix(".partial")
    partial.write_text(json.dumps({"passed": dict(sorted(passed.items()))}))
    partial.replace(memo)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site built once with ``mkdocs build --strict`` (executing every snippet)."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


# test_portable_results reruns this lab snippet on another CPU code path (its own pre-training, one
# thread): it joins the runs made before the tests, in a process of its own, since the code path
# is the process's.
ON_ANOTHER_CODE_PATH = "broad_applications_fine_tuning_llms/synthetic_token_shift"
ANOTHER_CODE_PATH_RUN = """
import sys
from fieldguide_site.execute import SnippetFailed, run_snippet
try:
    run_snippet(sys.argv[1], device=sys.argv[2] or None)
except SnippetFailed:
    sys.exit(3)
"""


def another_code_path() -> dict[str, str]:
    """torch's generic kernels where this machine dispatches vectorised ones; else MKL's
    compatible code path (a machine, or a run, already on generic kernels)."""
    from fieldguide_site.execute import device_used

    if device_used("cpu") != "cpu:DEFAULT":
        return {"ATEN_CPU_CAPABILITY": "default"}
    return {"MKL_CBWR": "COMPATIBLE"}


def on_the_cpu() -> str | None:
    """The --device that runs on the CPU: the default (auto) where that is the CPU, else cpu."""
    from fieldguide_site.execute import device_used

    return "cpu" if device_used("auto").startswith("cuda:") else None


@pytest.fixture(scope="session")
def cpu_device() -> str | None:
    return on_the_cpu()


@pytest.fixture(scope="session")
def other_code_path() -> dict[str, str]:
    return another_code_path()


# Seconds one run may take before the tests: a guard against a hung run, not a budget. The flagship
# took 1,590 s here on one thread beside another run; a slower machine must not hit the limit.
RUN_LIMIT = 3600


RUNS_EVERY_SNIPPET = {"test_library_warnings.py::test_no_snippet_run_raises_a_deprecation_of_ours"}


def snippets_used(items) -> list[str]:
    """The snippets the selected tests run: every one where a selected file runs them all, else
    those a file that calls ``run_snippet`` names in a string. (The site build needs no run of
    its own: it shows a current committed record where this machine has no run.)"""
    from fieldguide_site.records import all_snippets

    if any(f"{Path(item.fspath).name}::{getattr(item, 'name', '')}" in RUNS_EVERY_SNIPPET for item in items):
        return all_snippets()
    files = {Path(item.fspath) for item in items}
    sources = "\n".join(text for text in (file.read_text(encoding="utf-8") for file in files) if "run_snippet(" in text)
    return [name for name in all_snippets() if f'"{name}"' in sources]


def _run_on_another_code_path() -> None:
    # The run key reads the environment: the same key as test_portable_results' own.
    done = subprocess.run([sys.executable, "-c", ANOTHER_CODE_PATH_RUN, ON_ANOTHER_CODE_PATH, on_the_cpu() or ""],
                          cwd=REPO, env={**os.environ, **another_code_path()}, capture_output=True, text=True)
    if done.returncode not in (0, 3):  # 3: the snippet failed, for its test to report
        import warnings

        warnings.warn(f"the run on another code path could not start:\n{done.stderr[-1500:]}")


def pytest_collection_finish(session):
    """Before any test: run every snippet the selected tests use, two at a time on half the cores
    each (``execute.run_all``), so each test finds its run cached. Outside any test, so no
    test's timeout counts this; each run has the same limit instead. A run that fails here is
    left for its own test to run again and report."""
    if session.config.option.collectonly or not session.items:
        return
    from fieldguide_site.execute import expected_seconds, run_all

    items = [item for item in session.items if not item.get_closest_marker("skip")]  # remembered passes
    names = snippets_used(items) if items else []
    also = []
    if any("other_code_path" in getattr(item, "fixturenames", ()) for item in items):
        also.append((expected_seconds(ON_ANOTHER_CODE_PATH), _run_on_another_code_path))
    if not names and not also:
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # progress lines reach the terminal
        print(f"\nfieldguide: running {len(names) + len(also)} snippet runs two at a time before the tests",
              file=sys.stderr, flush=True)
        run_all(names, timeout=RUN_LIMIT, also=also)


def pytest_collection_modifyitems(session, config, items):
    """Run the snippet tests first and the whole-site tests last.

    The site build executes every snippet (through the shared run cache); running the
    per-page tests first means each snippet runs once, under its own test's name and
    timeout, and the build then finds every run cached.
    """
    items.sort(key=lambda item: "built_site" in getattr(item, "fixturenames", ()))
    _skip_remembered_passes(items)
