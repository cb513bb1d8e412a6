"""``bash dev.sh gpu``: every snippet at ``--scale gpu --device cuda`` on one GPU, then the SFT loop's speed.

Prepared for the brief loans of a GPU machine (minutes of device time, no network): it installs
nothing, refuses with one line where CUDA is missing, runs the snippets one after another inside
a time budget (the rest are listed as not run), and prints a table per snippet — wall time, peak
GPU memory (sampled with nvidia-smi), exit status, and the page's claims checked on the run (their
bands were set at ``ci`` scale, so at ``gpu`` scale they are information: a miss may be the scale,
not a bug) — then the supervised fine-tuning loop's tokens/s and model-FLOPs utilisation in bf16
(``benchmarks/sft_speed.py --device cuda``: 6 x parameters x tokens/s over the card's dense bf16
peak). Everything goes to ``benchmarks/results/gpu_<card>.json``.

    bash dev.sh gpu                      # all snippets, 11-minute budget for them
    bash dev.sh gpu --budget 300 --snippets llm_alignment/dpo_concise
    bash dev.sh gpu --dry-run            # here, no GPU: every gpu preset built, up to one step each

``--dry-run`` runs on the CPU what the GPU run would start: each snippet at ``--scale gpu --device
cpu``, two at a time on one thread each, stopped at its first optimisation step (a hook every process
of the run loads: benchmarks/dry_run/sitecustomize.py). A preset that cannot be built, data it asks
for that does not exist, a model call that fails at the preset's sizes: each fails here first. What
it cannot show is what only a GPU does (CUDA memory, bf16 kernels). A snippet that trains nothing
runs to its end; one still evaluating at the time limit is reported as such (its forward passes ran),
and one still building its data or model then as "setting up" (not tested beyond that).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

# Dense bf16 peak FLOP/s of cards a loan may bring (vendor figures, no sparsity).
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "L4": 121e12}
# Snippets that read other snippets' runs go last, reading this run's folders.
READS_SOURCES = {"selecting_adaptation_strategy/compare_strategies", "freezing_encoder_parameters/use_saved_heads"}


def all_snippets() -> list[str]:
    names = sorted(p.relative_to(REPO / "snippets").with_suffix("").as_posix()
                   for p in (REPO / "snippets").glob("*/*.py"))
    return [n for n in names if n not in READS_SOURCES] + [n for n in names if n in READS_SOURCES]


class PeakGpuMemory:
    """Samples the GPU's used memory every quarter second while a run lasts (MiB)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def _sample(self):
        while not self._stop.wait(0.25):
            try:
                used = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits",
                                       "-i", "0"], capture_output=True, text=True, timeout=5).stdout.split()
                self.peak = max(self.peak, int(used[0]))
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                pass

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_snippet(name: str, out_root: Path, timeout: float) -> dict:
    out = out_root / name
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, str(REPO / "snippets" / f"{name}.py"), "--scale", "gpu", "--device", "cuda",
               "--out", str(out)]
    if name in READS_SOURCES:
        command += ["--sources", str(out_root)]
    started = time.perf_counter()
    with PeakGpuMemory() as memory:
        try:
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=max(timeout, 1))
            code, tail = done.returncode, (done.stderr.strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            code, tail = "timeout", f"stopped at the budget's end ({timeout:.0f} s left)"
    row = {"snippet": name, "exit": code, "seconds": round(time.perf_counter() - started, 1),
           "peak_gpu_mib": memory.peak, "last_line": tail[-300:] if code != 0 else ""}
    results = out / "results.json"
    if code == 0 and results.is_file():
        from fieldguide.claims import CLAIMS, check

        if name in CLAIMS:
            outcomes = check(name, json.loads(results.read_text()))
            row["claims_held"] = [c.id for c, held, _ in outcomes if held]
            row["claims_missed"] = [c.id for c, held, _ in outcomes if not held]
    return row


DRY_RUN_HOOK = REPO / "benchmarks" / "dry_run"


def dry_run_snippet(name: str, out_root: Path, limit: float) -> dict:
    """One snippet at --scale gpu on the CPU, stopped at its first optimisation step."""
    import os
    import signal

    out = out_root / name
    marker = out_root / f"{name.replace('/', '__')}.marks"
    marker.unlink(missing_ok=True)
    if name in READS_SOURCES:
        return {"snippet": name, "status": "not run", "seconds": 0.0,
                "detail": "reads other snippets' runs, which a dry run stops before they are written"}
    env = {**os.environ, "FIELDGUIDE_DRY_RUN": str(marker), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": os.pathsep.join(
               [str(DRY_RUN_HOOK), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, str(REPO / "snippets" / f"{name}.py"), "--scale", "gpu", "--device", "cpu",
               "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # its own group: torchrun's workers go with it
    stderr_tail: list[str] = []
    reader = threading.Thread(target=lambda: stderr_tail.extend(process.stderr), daemon=True)
    reader.start()
    marks = lambda: marker.read_text().split() if marker.is_file() else []  # noqa: E731
    while process.poll() is None and "step" not in marks() and time.perf_counter() - started < limit:
        time.sleep(0.2)
    seconds = round(time.perf_counter() - started, 1)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    reader.join(timeout=5)
    seen, code = marks(), process.returncode
    last = next((line.strip() for line in reversed(stderr_tail) if line.strip()), "")
    if "ready" not in seen:
        status, detail = "failed", "the dry run's step hook did not load in the snippet's process"
    elif "step" in seen:
        status, detail = "step", "one optimisation step taken"
    elif code == 0:
        status, detail = "completed", "trains nothing: ran to its end"
    elif killed and "forward" in seen:  # stopped at the limit, still evaluating
        status, detail = "forward only", f"forward passes ran; no optimisation step within {limit:.0f} s"
    elif killed:  # stopped at the limit before any model call: data or model still being built
        status, detail = "setting up", f"still building its data or model at {limit:.0f} s: nothing ran yet"
    else:
        status, detail = "failed", last[-300:] or f"exit {code}"
    shutil.rmtree(out, ignore_errors=True)
    marker.unlink(missing_ok=True)
    return {"snippet": name, "status": status, "seconds": seconds, "detail": detail}


def dry_run(names: list[str], limit: float, json_out: Path | None) -> int:
    """Every named snippet's gpu preset on the CPU, two at a time; one line each; exit 1 if any failed."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    out_root = Path(tempfile.mkdtemp(prefix="fieldguide-dry-run-"))
    print(f"dry run: {len(names)} snippets at --scale gpu on the CPU, two at a time, each stopped at its "
          f"first optimisation step (limit {limit:.0f} s)", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = []
        for row in pool.map(lambda n: dry_run_snippet(n, out_root, limit), names):
            rows.append(row)
            print(f"{row['snippet']:70s} {row['status']:>12} {row['seconds']:6.1f} s  {row['detail']}", flush=True)
    shutil.rmtree(out_root, ignore_errors=True)
    failed = [r["snippet"] for r in rows if r["status"] == "failed"]
    print(f"dry run: {sum(r['status'] == 'step' for r in rows)} took a step, "
          f"{sum(r['status'] == 'completed' for r in rows)} train nothing and ran to the end, "
          f"{sum(r['status'] == 'forward only' for r in rows)} still evaluating at the limit, "
          f"{sum(r['status'] == 'setting up' for r in rows)} still setting up, "
          f"{sum(r['status'] == 'not run' for r in rows)} not run, {len(failed)} failed; "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    if json_out:
        json_out.write_text(json.dumps({"limit_s": limit, "snippets": rows}, indent=1))
    return 1 if failed else 0


def sft_speed(card: str) -> dict:
    """Our SFT loop in bf16 on the GPU: tokens/s and the share of the card's dense bf16 peak."""
    target = REPO / "benchmarks" / "results" / "sft_speed_gpu.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sft_speed.py"), "--device", "cuda",
                           "--arms", "ours", "--repeats", "2", "--steps", "6", "--batch-size", "32",
                           "--json", str(target)], cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not target.is_file():
        return {"exit": done.returncode, "last_line": (done.stderr.strip().splitlines() or [""])[-1][-300:]}
    speed = json.loads(target.read_text())
    tokens = (speed.get("tokens_per_s", {}).get("ours") or {}).get("median")
    params = speed.get("setup", {}).get("parameters")
    peak = next((v for k, v in PEAK_BF16.items() if k in card), None)
    mfu = 6 * params * tokens / peak if tokens and params and peak else None
    return {"exit": 0, "tokens_per_s": tokens, "parameters": params, "peak_bf16_flops": peak, "mfu": mfu,
            "target_mfu": 0.35}


def main() -> int:
    parser = argparse.ArgumentParser(prog="dev.sh gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=660, help="seconds for the snippets (default: 660)")
    parser.add_argument("--snippets", nargs="+", default=None, help="page/name of the snippets to run (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "gpu", help="run folders (default: runs/gpu)")
    parser.add_argument("--no-sft-speed", action="store_true", help="skip the SFT speed measurement")
    parser.add_argument("--dry-run", action="store_true",
                        help="no GPU needed: build every gpu preset on the CPU and stop at its first step")
    parser.add_argument("--limit", type=float, default=60,
                        help="--dry-run: seconds a snippet may take to reach its first step (default: 60)")
    parser.add_argument("--json", type=Path, default=None, help="--dry-run: also write the rows here")
    args = parser.parse_args()
    names = args.snippets or all_snippets()
    unknown = [n for n in names if not (REPO / "snippets" / f"{n}.py").is_file()]
    if unknown:
        print(f"error: no snippet {unknown[0]} (names are page/name under snippets/)", file=sys.stderr)
        return 2
    if args.dry_run:
        return dry_run(names, args.limit, args.json)
    import torch

    if not torch.cuda.is_available():
        print(f"error: no CUDA GPU is available to torch {torch.__version__}: bash dev.sh gpu needs a machine with "
              "one (the CPU suite is bash dev.sh test)", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name(0)
    print(f"{card}: {len(names)} snippets at --scale gpu, budget {args.budget:.0f} s", flush=True)
    started, rows = time.perf_counter(), []
    for name in names:
        left = args.budget - (time.perf_counter() - started)
        if left <= 5:
            rows.append({"snippet": name, "exit": "not run", "seconds": 0, "peak_gpu_mib": 0,
                         "last_line": "the budget was spent"})
            continue
        row = run_snippet(name, args.out, left)
        rows.append(row)
        claims = (f"{len(row['claims_held'])}/{len(row['claims_held']) + len(row['claims_missed'])} ci bands held"
                  if "claims_held" in row else "")
        print(f"{name:70s} {str(row['exit']):>8} {row['seconds']:7.1f} s {row['peak_gpu_mib']:7d} MiB  {claims}"
              f"  {row['last_line']}", flush=True)
    speed = {} if args.no_sft_speed else sft_speed(card)
    if speed:
        print(f"SFT loop, bf16: {speed}", flush=True)
    slug = re.sub(r"[^a-z0-9]+", "_", card.lower()).strip("_")
    target = REPO / "benchmarks" / "results" / f"gpu_{slug}.json"
    target.write_text(json.dumps({"card": card, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
                                  "budget_s": args.budget, "snippets": rows, "sft_speed": speed}, indent=1))
    print(f"recorded in {target.relative_to(REPO)}")
    failed = [r["snippet"] for r in rows if r["exit"] not in (0, "not run")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
