"""Smoke test of the speed benchmark (a benchmark, not a timed test: one tiny step per arm, one round)."""

import re
import subprocess
import sys
import tempfile

from fieldguide_site.execute import REPO, cached_check


def test_sft_speed_benchmark_runs():
    def smoke():
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([sys.executable, "benchmarks/sft_speed.py", "--smoke", "--steps", "1",
                                     "--batch-size", "2", "--out", out], cwd=REPO, capture_output=True, text=True,
                                    timeout=900)
        return {"exit": result.returncode, "stdout": result.stdout, "stderr": result.stderr[-2000:]}

    result = cached_check("benchmarks/sft_speed.py", smoke)  # once per content of the benchmark and library
    print(result["stdout"])
    assert result["exit"] == 0, result["stderr"]
    for arm in ("trl-best", "trl-defaults", "ours-dense-mask", "ours-first-version"):
        assert re.search(rf"ratio ours / {arm}: \d+\.\d+x .*final losses differ by \d+\.\d%", result["stdout"]), arm
    assert re.search(r"measured GEMM rate: \d+\.\d GFLOP/s", result["stdout"])
    # the same batches, steps and lr in every arm: one step from the same weights lands on the same loss
    after = [float(x) for x in re.findall(r"loss after: (\d+\.\d+)", result["stdout"])]
    assert len(after) == 5 and max(after) - min(after) < 0.02 * min(after), after
