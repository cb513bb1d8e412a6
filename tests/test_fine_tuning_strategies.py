"""Fine-tuning strategies: DDP scale-out matches one process; a killed run resumes to the same loss."""

import json
import os
import signal
import subprocess
import sys
import time

from fieldguide.execute import REPO, run_snippet, snippet_path

NAME = "fine_tuning_strategies/sft_scale_out"


def results(out):
    return json.loads((out / "results.json").read_text())["metrics"]


def test_sft_scale_out_single_process():
    run = run_snippet(NAME)
    print(run.stdout)
    assert run.metric("world_size") == 1
    losses = [row["training loss"] for row in run.table("losses")]
    assert losses[-1] < losses[0]


def test_ddp_two_processes_match_single(tmp_path):
    single = run_snippet(NAME)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(snippet_path(NAME)), "--scale", "ci", "--device", "cpu", "--out", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = results(tmp_path)
    one = single.results["metrics"]
    ddp_losses = [row[1] for row in json.loads((tmp_path / "results.json").read_text())["tables"]["losses"]["rows"]]
    one_losses = [row["training loss"] for row in single.table("losses")]
    print(f"2 processes in {time.perf_counter() - started:.0f} s; final loss {ddp['final_loss']['value']:.6f} "
          f"vs {one['final_loss']['value']:.6f}; held-out {ddp['heldout_loss']['value']:.6f} "
          f"vs {one['heldout_loss']['value']:.6f}")
    assert ddp["world_size"]["value"] == 2
    for a, b in zip(ddp_losses, one_losses):  # same steps; only float summation order differs
        assert abs(a - b) < 2e-3 * b
    assert abs(ddp["heldout_loss"]["value"] - one["heldout_loss"]["value"]) < 2e-3 * one["heldout_loss"]["value"]


def test_killed_run_resumes_to_same_loss(tmp_path):
    single = run_snippet(NAME)
    command = [sys.executable, str(snippet_path(NAME)), "--scale", "ci", "--device", "auto", "--out", str(tmp_path)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = tmp_path / "progress.json"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if progress.exists() and json.loads(progress.read_text())["step"] >= 2:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(progress.read_text())["step"]
    assert not (tmp_path / "results.json").exists()
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    print(again.stdout)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = results(tmp_path)
    steps = resumed["steps"]["value"]
    print(f"killed after step {killed_at}, resumed from {resumed['resumed_from']['value']} of {steps}; final "
          f"loss {resumed['final_loss']['value']:.6f} vs uninterrupted {single.metric('final_loss'):.6f}")
    assert 2 <= resumed["resumed_from"]["value"] < steps
    assert abs(resumed["final_loss"]["value"] - single.metric("final_loss")) < 1e-4 * single.metric("final_loss")
    assert abs(resumed["heldout_loss"]["value"] - single.metric("heldout_loss")) < 1e-4 * single.metric("heldout_loss")


def test_resume_refuses_another_runs_checkpoint_and_says_when_complete(tmp_path):
    """A finished run is not re-reported as new; another run's checkpoint is refused, in one line."""
    import torch

    out = tmp_path / "run"
    command = [sys.executable, str(snippet_path(NAME)), "--scale", "ci", "--device", "cpu", "--out", str(out)]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-2000:]
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already complete" in again.stdout, again.stdout + again.stderr[-1000:]
    other_seed = subprocess.run([*command, "--seed", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    errors = [line for line in other_seed.stderr.splitlines() if "error:" in line]
    assert other_seed.returncode == 2 and "Traceback" not in other_seed.stderr
    assert len(errors) == 1 and "written by another run" in errors[0], other_seed.stderr[-1000:]
    # A checkpoint whose adapter keys do not fit (say, another LoRA layout) is refused, not half-loaded.
    state = torch.load(out / "checkpoint.pt")
    state["model"] = {k.replace("lora_A", "lora_X"): v for k, v in state["model"].items()}
    state["step"] = 2
    torch.save(state, out / "checkpoint.pt")
    torn = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert torn.returncode == 2 and "does not fit this model's adapters" in torn.stderr, torn.stderr[-1000:]
    assert "Traceback" not in torn.stderr
