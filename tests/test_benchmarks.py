"""Smoke test of the speed benchmark (a benchmark, not a timed test: one tiny step each)."""

import re
import subprocess
import sys

from fieldguide.execute import REPO


def test_sft_speed_benchmark_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/sft_speed.py", "--steps", "1", "--batch-size", "2", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"ratio ours / trl \(defaults\): \d+\.\d+x", result.stdout)
    assert re.search(r"measured GEMM rate: \d+\.\d GFLOP/s", result.stdout)
