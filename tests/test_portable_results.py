"""The lab's claims hold on another CPU code path, not only on the one that wrote them.

Another machine sends the lab's pre-training down another trajectory (other kernels, another
MKL code path, another summation order). This reruns the cheapest claim-bearing lab snippet
from scratch, pre-training included, under a code path this machine does not use by
default, and asserts the same claims the page states. A band too tight for another
trajectory fails here, on the developers' machine, before it fails on a reader's.
"""

import json
import os
import subprocess
import sys

import torch

from fieldguide.execute import REPO, snippet_path
from fieldguide.models import cache_dir
from fieldguide.results import load_results
from fieldguide.site.claims import report

SNIPPET = "activating_pretrained_knowledge/synthetic_translation"


def other_code_path() -> dict[str, str]:
    """torch's generic kernels where this machine dispatches vectorised ones; else MKL's
    compatible code path (a machine already on generic kernels)."""
    if torch.backends.cpu.get_cpu_capability() != "DEFAULT":
        return {"ATEN_CPU_CAPABILITY": "default"}
    return {"MKL_CBWR": "COMPATIBLE"}


def pretraining_losses(cache) -> dict[str, list[float]]:
    root = cache / "tiny_gpt"
    return {p.parent.name: json.loads(p.read_text())["losses"] for p in root.glob("*/info.json")}


def test_translation_claims_hold_on_another_cpu_code_path(tmp_path):
    path = other_code_path()
    env = {**os.environ, **path, "FIELDGUIDE_CACHE": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(snippet_path(SNIPPET)), "--scale", "ci", "--device", "cpu",
                             "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"code path: {path}\n{result.stdout}")
    text, failed = report(SNIPPET, load_results(out))
    print(text)
    assert not failed, f"claims not held under {path}:\n{text}"
    # The rerun did take another trajectory (else this test proves nothing): where this
    # machine's own pre-training of the same world is cached, its loss curve differs.
    fresh, native = pretraining_losses(tmp_path / "cache"), pretraining_losses(cache_dir())
    assert len(fresh) == 1
    key, losses = next(iter(fresh.items()))
    if key in native:
        assert losses != native[key], f"pre-training under {path} matched this machine's own path exactly"
