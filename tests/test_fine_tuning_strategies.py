"""Fine-tuning strategies: DDP scale-out matches one process; a killed run resumes to the same loss;
a checkpoint of another run is refused.

The multi-process evidence (a torchrun, a killed and resumed run) is computed once per content of
the snippet, the library and the checking code (``cached_check``) and asserted on every run.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fieldguide_site.execute import REPO, cached_check, run_snippet, snippet_path

NAME = "fine_tuning_strategies/sft_scale_out"


def results(out):
    return json.loads((Path(out) / "results.json").read_text())["metrics"]


def losses_of(out):
    return [row[1] for row in json.loads((Path(out) / "results.json").read_text())["tables"]["losses"]["rows"]]


def test_sft_scale_out_single_process():
    run = run_snippet(NAME)
    print(run.stdout)
    assert run.metric("world_size") == 1
    losses = [row["training loss"] for row in run.table("losses")]
    assert losses[-1] < losses[0]


def test_ddp_two_processes_match_single():
    single = run_snippet(NAME)

    def two_processes():
        with tempfile.TemporaryDirectory() as out:
            env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                 str(snippet_path(NAME)), "--scale", "ci", "--device", "cpu", "--out", out],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
            assert proc.returncode == 0, proc.stderr[-3000:]
            return {"metrics": {k: v["value"] for k, v in results(out).items()}, "losses": losses_of(out),
                    "seconds": time.perf_counter() - started}

    ddp = cached_check(NAME, two_processes)
    one = single.results["metrics"]
    one_losses = [row["training loss"] for row in single.table("losses")]
    print(f"2 processes in {ddp['seconds']:.0f} s; final loss {ddp['metrics']['final_loss']:.6f} "
          f"vs {one['final_loss']['value']:.6f}; held-out {ddp['metrics']['heldout_loss']:.6f} "
          f"vs {one['heldout_loss']['value']:.6f}")
    assert ddp["metrics"]["world_size"] == 2
    assert len(ddp["losses"]) == len(one_losses)
    for a, b in zip(ddp["losses"], one_losses):  # same steps; only float summation order differs
        assert abs(a - b) < 2e-3 * b
    assert abs(ddp["metrics"]["heldout_loss"] - one["heldout_loss"]["value"]) < 2e-3 * one["heldout_loss"]["value"]


def test_killed_run_resumes_to_same_loss():
    single = run_snippet(NAME)

    def kill_and_resume():
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder)
            command = [sys.executable, str(snippet_path(NAME)), "--scale", "ci", "--device", "auto", "--out", folder]
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            progress = out / "progress.json"
            deadline = time.time() + 600
            while time.time() < deadline and proc.poll() is None:
                if progress.exists() and json.loads(progress.read_text())["step"] >= 2:
                    break
                time.sleep(0.1)
            assert proc.poll() is None, "the run ended before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_at = json.loads(progress.read_text())["step"]
            results_after_kill = (out / "results.json").exists()
            again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
            assert again.returncode == 0, again.stderr[-3000:]
            return {"killed_at": killed_at, "results_after_kill": results_after_kill, "stdout": again.stdout,
                    "metrics": {k: v["value"] for k, v in results(out).items()}}

    resumed = cached_check(NAME, kill_and_resume)
    print(resumed["stdout"])
    m = resumed["metrics"]
    print(f"killed after step {resumed['killed_at']}, resumed from {m['resumed_from']} of {m['steps']}; final "
          f"loss {m['final_loss']:.6f} vs uninterrupted {single.metric('final_loss'):.6f}")
    assert not resumed["results_after_kill"]
    assert 2 <= m["resumed_from"] < m["steps"]
    assert abs(m["final_loss"] - single.metric("final_loss")) < 1e-4 * single.metric("final_loss")
    assert abs(m["heldout_loss"] - single.metric("heldout_loss")) < 1e-4 * single.metric("heldout_loss")


def test_resume_refuses_another_runs_checkpoint_and_says_when_complete():
    """A finished run is not re-reported as new; another run's checkpoint is refused, in one line."""

    def refusals():
        import torch

        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "run"
            command = [sys.executable, str(snippet_path(NAME)), "--scale", "ci", "--device", "cpu", "--out", str(out)]
            first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
            assert first.returncode == 0, first.stderr[-2000:]
            answers = {"again": subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300),
                       "other seed": subprocess.run([*command, "--seed", "1"], cwd=REPO, capture_output=True,
                                                    text=True, timeout=300)}
            # A checkpoint whose adapter keys do not fit (another LoRA layout, say) is refused, not half-loaded.
            state = torch.load(out / "checkpoint.pt")
            state["model"] = {k.replace("lora_A", "lora_X"): v for k, v in state["model"].items()}
            state["step"] = 2
            torch.save(state, out / "checkpoint.pt")
            answers["torn"] = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
            return {k: {"exit": r.returncode, "stdout": r.stdout, "stderr": r.stderr} for k, r in answers.items()}

    answers = cached_check(NAME, refusals)
    again, other, torn = answers["again"], answers["other seed"], answers["torn"]
    assert again["exit"] == 0 and "already complete" in again["stdout"], again
    errors = [line for line in other["stderr"].splitlines() if "error:" in line]
    assert other["exit"] == 2 and "Traceback" not in other["stderr"]
    assert len(errors) == 1 and "written by another run" in errors[0], other["stderr"][-1000:]
    assert torn["exit"] == 2 and "does not fit this model's adapters" in torn["stderr"], torn["stderr"][-1000:]
    assert "Traceback" not in torn["stderr"]


STRATEGIES = "fine_tuning_strategies/strategies_on_one_task"


def test_strategies_on_one_task_one_readout_and_a_tuned_rate_each():
    """Six arms, one mean-pooled readout, one recipe; each arm's rate chosen on validation from its grid."""
    from fieldguide.claims import assert_claims

    run = run_snippet(STRATEGIES)
    rows = run.table("strategies")
    grid = run.table("grid")
    for row in rows:
        print(f"{row['strategy']}: lr {row['chosen lr']:g}, test {row['test accuracy']:.1%} "
              f"(macro-F1 {row['test macro-F1']:.3f}), trainable {row['trainable parameters']:,} "
              f"({row['share of the model']:.3%}), {row['training seconds']:.1f} s")
    print(f"run {run.seconds:.0f} s ({run.metric('runs')} training runs)")
    # Every arm tried its whole grid, and the reported rate is the one with the best validation accuracy.
    assert len(rows) == 6 and len(grid) == run.metric("runs") == 18
    for row in rows:
        tried = [g for g in grid if g["strategy"] == row["strategy"]]
        assert len(tried) == 3
        assert row["validation accuracy"] == max(g["validation accuracy"] for g in tried)
        assert row["chosen lr"] == next(g["lr"] for g in tried if g["validation accuracy"] == row["validation accuracy"])
    assert_claims(run)
