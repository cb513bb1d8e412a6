"""Smoke test of the speed benchmark (a benchmark, not a timed test: one tiny step each)."""

import re
import subprocess
import sys
import tempfile

from fieldguide_site.execute import REPO, cached_check


def test_sft_speed_benchmark_runs():
    def smoke():
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([sys.executable, "benchmarks/sft_speed.py", "--steps", "1", "--batch-size", "2",
                                     "--out", out], cwd=REPO, capture_output=True, text=True, timeout=900)
        return {"exit": result.returncode, "stdout": result.stdout, "stderr": result.stderr[-2000:]}

    result = cached_check("benchmarks/sft_speed.py", smoke)  # once per content of the benchmark and library
    print(result["stdout"])
    assert result["exit"] == 0, result["stderr"]
    assert re.search(r"ratio ours / trl \(defaults\): \d+\.\d+x", result["stdout"])
    assert re.search(r"measured GEMM rate: \d+\.\d GFLOP/s", result["stdout"])
