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


# The activation lab's snippets run one torch thread each: two at a time keep both cores busy
# (heavy multi-thread snippets still run one at a time, in their tests). This order lets the
# second of a pair reuse pre-training the first has just cached.
LAB_IN_PAIRS = ["activating_pretrained_knowledge/synthetic_bios_activation",
                "activating_pretrained_knowledge/synthetic_extractability",
                "fine_tuning_strategies/synthetic_lora_rank",
                "evaluating_researchers_conclusion/synthetic_data_size",
                "activating_pretrained_knowledge/synthetic_translation",
                "broad_applications_fine_tuning_llms/synthetic_token_shift",
                "llm_alignment/synthetic_rl_pass_at_k",
                "activating_pretrained_knowledge/synthetic_knowledge_injection"]
# test_portable_results reruns this one on another CPU code path (its own pre-training, one
# thread): it joins the pairs, in a process of its own, since the code path is the process's.
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


@pytest.fixture(scope="session", autouse=True)
def lab_snippets_two_at_a_time(request):
    """Run the lab snippets the selected tests use, two at a time, before those tests start.

    A run that fails here is left for its own test to run again and report.
    """
    from concurrent.futures import ThreadPoolExecutor

    from fieldguide_site.execute import SnippetFailed, run_snippet

    sources = "\n".join({Path(item.fspath).read_text(encoding="utf-8") for item in request.session.items})
    wanted = [name for name in LAB_IN_PAIRS if f'"{name}"' in sources]
    if "other_code_path" in sources and f'"{ON_ANOTHER_CODE_PATH}"' in sources:
        wanted.insert(2, "on another code path")  # after the first pair: the longest runs go first
    if len(wanted) < 2:
        return

    def run(name):
        if name == "on another code path":  # the run key reads the environment: the same key as the test's
            done = subprocess.run([sys.executable, "-c", ANOTHER_CODE_PATH_RUN, ON_ANOTHER_CODE_PATH,
                                   on_the_cpu() or ""], cwd=REPO,
                                  env={**os.environ, **another_code_path()}, capture_output=True, text=True)
            if done.returncode not in (0, 3):  # 3: the snippet failed, for its test to report
                import warnings

                warnings.warn(f"the run on another code path could not start:\n{done.stderr[-1500:]}")
            return
        try:
            run_snippet(name)
        except SnippetFailed:
            pass

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, wanted))


def pytest_collection_modifyitems(session, config, items):
    """Run the snippet tests first and the whole-site tests last.

    The site build executes every snippet (through the shared run cache); running the
    per-page tests first means each snippet runs once, under its own test's name and
    timeout, and the build then finds every run cached.
    """
    items.sort(key=lambda item: "built_site" in getattr(item, "fixturenames", ()))
