"""Spread of every claim across seeds and CPU code paths.

The lab trains tiny GPTs from scratch; another CPU (other kernels, another MKL code path,
another summation order) sends pre-training down another, equally valid trajectory. The
real-model snippets fine-tune and probe SmolLM2 and MiniLM: there the seed draws the labels,
the data order and the new weights. A claim the site states must hold on all of them, so this
benchmark runs every snippet with claims at ``ci`` scale for each chosen ``--seed`` natively,
and under each other CPU code path for the first of those seeds (``--other-path-seeds``), every
path in a fresh model cache of its own (pre-training included), and prints per claim the values
seen and whether its band held, and per metric the range it spans.

    python benchmarks/claim_spread.py                       # every snippet, its default paths, seeds 0 2 4
    python benchmarks/claim_spread.py --snippets llm_alignment/dpo_concise --seeds 0 2 4
    python benchmarks/claim_spread.py --paths native aten-default --seeds 0
    python benchmarks/claim_spread.py --report              # print the recorded results again

Default paths: the lab (which pre-trains, so the code path changes its whole trajectory) runs
all four; a real-model snippet runs native and one other path: AVX2 kernels (``aten-avx2``, as on
most laptops) on an AVX-512 CPU, torch's generic kernels on a CPU whose native kernels are AVX2.
A snippet that reads other snippets' runs (``--sources``) reads those of the same path and seed.

The lab's runs use one torch thread each, so ``--jobs 2`` keeps both cores of a 2-core machine
busy without slowing either run. The real-model snippets then get one thread each too: two such
runs at once do about 1.4x the runs per hour of one two-thread run after another (gentle_vs_harsh
on a 2-core EPYC: 109 s for two, 78 s for one), the way the suite runs them; ``--jobs 1`` gives
each run both cores (another thread count, so another summation order). Results are recorded in
``benchmarks/results/claim_spread.json`` (the data behind the claims' bands); finished
runs under ``--work`` are reused when the benchmark is run again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fieldguide_site.execute import library_modules  # noqa: E402
from fieldguide.claims import CLAIMS, LAB_CLAIMS, check, metric_values  # noqa: E402

# Environment of each CPU code path: torch's kernel dispatch level and MKL's code path.
PATHS = {
    "native": {},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
}
THREADS = 1  # set from --threads
# Snippets that read other snippets' runs: they run after those, on the runs of the same path and seed.
READS_SOURCES = {"selecting_adaptation_strategy/compare_strategies"}
SNIPPETS = list(CLAIMS)


def default_paths(snippet: str) -> list[str]:
    """The lab: all four. A real model: native and one other path; AVX2 kernels, unless those are
    this CPU's native ones (then torch's generic kernels)."""
    if snippet in LAB_CLAIMS:
        return list(PATHS)
    import torch

    return ["native", "aten-default" if torch.backends.cpu.get_cpu_capability() == "AVX2" else "aten-avx2"]


def source_digest(snippet: str) -> str:
    """Hash of the snippet and the library modules it imports: a finished run is reused only
    while these are unchanged."""
    script = REPO / "snippets" / f"{snippet}.py"
    digest = hashlib.sha256(script.read_bytes())
    for module in library_modules(script):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def run_one(work: Path, path: str, seed: int, snippet: str) -> dict:
    out = work / "runs" / path / f"seed{seed}" / snippet
    source = source_digest(snippet)
    done = json.loads((out / "wall.json").read_text()) if (out / "wall.json").is_file() else {}
    if (out / "results.json").is_file() and done.get("source") == source:
        record = done
    else:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        # The lab always trains on one torch thread; real-model runs take THREADS (one each when two
        # run at once, so they share two cores without slowing each other).
        env = {**os.environ, **PATHS[path], "FIELDGUIDE_CACHE": str(work / "cache" / path),
               "FIELDGUIDE_TORCH_THREADS": "1", "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
               "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        command = [sys.executable, str(REPO / "snippets" / f"{snippet}.py"), "--scale", "ci",
                   "--device", "cpu", "--seed", str(seed), "--out", str(out)]
        if snippet in READS_SOURCES:
            command += ["--sources", str(work / "runs" / path / f"seed{seed}")]
        with open(out / "log.txt", "w") as log:
            code = subprocess.call(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        record = {"exit": code, "seconds": round(time.perf_counter() - started, 1), "source": source,
                  "threads": THREADS}
        (out / "wall.json").write_text(json.dumps(record))
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else None
    print(f"  {path:>14} seed {seed} {snippet}: exit {record['exit']}, {record['seconds']} s", flush=True)
    return {"path": path, "seed": seed, "snippet": snippet, **record,
            "metrics": metric_values(results) if results else None}


def report(runs: list[dict]) -> int:
    """Print every claim over every run, and each numeric metric's range; return the failures."""
    failures = 0
    for snippet in SNIPPETS:
        mine = [r for r in runs if r["snippet"] == snippet and r["metrics"]]
        if not mine:
            continue
        print(f"\n== {snippet} ({len(mine)} runs)")
        for claim_index, claim in enumerate(CLAIMS[snippet]):
            # A run recorded before a claim's metrics existed is no evidence on it (as in tests/test_claims.py).
            evidence = [r for r in mine if all(name in r["metrics"] for name in claim.names())]
            outcomes = [check(snippet, {"metrics": {k: {"value": v} for k, v in r["metrics"].items()}})[claim_index]
                        for r in evidence]
            held = sum(ok for _, ok, _ in outcomes)
            failures += len(outcomes) - held
            skipped = f" (+{len(mine) - len(evidence)} run(s) from before its metrics)" if len(evidence) < len(mine) else ""
            print(f"  {'held' if outcomes and held == len(outcomes) else 'MISS'} {held}/{len(outcomes)}{skipped}  "
                  f"{claim.id}: {claim.band}")
            for name in claim.names():
                values = [r["metrics"].get(name) for r in mine]
                numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if numbers:
                    print(f"        {name}: {min(numbers):.3f} .. {max(numbers):.3f}   "
                          + " ".join(f"{r['path']}/{r['seed']}={_short(r['metrics'].get(name))}" for r in mine))
                else:
                    print(f"        {name}: " + " ".join(f"{r['path']}/{r['seed']}={r['metrics'].get(name)!r}"
                                                        for r in mine))
        for r in mine:
            if r.get("exit"):
                print(f"  run {r['path']}/{r['seed']} exited {r['exit']}")
    seconds = {}
    for r in runs:
        seconds.setdefault(r["path"], []).append(r["seconds"])
    print("\nwall seconds per path (sum of its runs, one thread each): "
          + ", ".join(f"{p} {sum(s):.0f}" for p, s in seconds.items()))
    return failures


def _short(value):
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", choices=list(PATHS),
                        help="CPU code paths (default: all four for the lab, native and aten-avx2 for real models)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 2, 4],
                        help="--seed of each native run; snippets with two ci seeds run seed and seed+1 (default: 0 2 4)")
    parser.add_argument("--other-path-seeds", nargs="+", type=int,
                        help="--seed of the runs on the other paths (default: the lab all --seeds, real models the first)")
    parser.add_argument("--snippets", nargs="+", default=SNIPPETS, choices=SNIPPETS)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default: 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of each real-model run (default: cores // jobs); the lab always uses one")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "claim_spread",
                        help="model caches and runs (default: .cache/claim_spread)")
    parser.add_argument("--record", type=Path, default=REPO / "benchmarks" / "results" / "claim_spread.json")
    parser.add_argument("--report", action="store_true", help="only print the recorded results")
    parser.add_argument("--import-suite-runs", action="store_true",
                        help="record this checkout's suite runs (.cache/runs, current code, the suite's threads) as "
                             "native seed 0 of --snippets, instead of running them again")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    global THREADS
    THREADS = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    if args.report:
        if not args.record.is_file():
            print(f"error: no recorded results at {args.record}", file=sys.stderr)
            return 2
        return 1 if report(json.loads(args.record.read_text())["runs"]) else 0

    # Consecutive runs are of different paths, so two jobs never wait on one cache's pre-training.
    def seeds_on(path: str, snippet: str) -> list[int]:
        if path == "native":
            return args.seeds
        if args.other_path_seeds is not None:
            return args.other_path_seeds
        return args.seeds if snippet in LAB_CLAIMS else args.seeds[:1]

    every_seed = sorted(set(args.seeds) | set(args.other_path_seeds or []))
    if args.import_suite_runs:
        runs = [suite_run(snippet) for snippet in args.snippets]
        missing = [snippet for snippet, run in zip(args.snippets, runs) if run is None]
        if missing:
            print(f"error: no suite run of the current code for {', '.join(missing)}: run bash dev.sh test first",
                  file=sys.stderr)
            return 2
        return record_and_report(args, runs)
    tasks = [(path, seed, snippet) for seed in every_seed for snippet in args.snippets
             for path in (args.paths or default_paths(snippet)) if seed in seeds_on(path, snippet)]
    later = [t for t in tasks if t[2] in READS_SOURCES]  # after the runs they read
    print(f"{len(tasks)} runs, {args.jobs} at a time, under {args.work}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda t: run_one(args.work, *t), [t for t in tasks if t not in later]))
        runs += list(pool.map(lambda t: run_one(args.work, *t), later))
    return record_and_report(args, runs)


def suite_run(snippet: str) -> dict | None:
    """The suite's run of ``snippet`` (default flags: --seed 0, the CPU's native path), if cached."""
    from fieldguide_site.execute import intact_run, load_run, local_run_folder

    out = local_run_folder(snippet)
    if not intact_run(out):
        return None
    run = load_run(snippet, out, cached=True)
    print(f"          native seed 0 {snippet}: the suite's run, {run.seconds:.1f} s", flush=True)
    return {"path": "native", "seed": 0, "snippet": snippet, "exit": 0, "seconds": round(run.seconds, 1),
            "source": "suite run (bash dev.sh test)",
            "threads": run.record.get("environment", {}).get("OMP_NUM_THREADS", "default"), "metrics": metric_values(run.results)}


def record_and_report(args, runs: list[dict]) -> int:
    args.record.parent.mkdir(parents=True, exist_ok=True)
    import platform

    import torch

    # Merge with earlier invocations: a run of the same path, seed and snippet replaces its record.
    document = json.loads(args.record.read_text()) if args.record.is_file() else {"runs": []}
    # Records written before runs carried their own machine share the document's one.
    recorded = [{"machine": document.get("machine"), **r} for r in document["runs"]]
    done = {(r["path"], r["seed"], r["snippet"]) for r in runs}
    machine = {"cpu": _cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
               "native_capability": torch.backends.cpu.get_cpu_capability(), "python": platform.python_version(),
               "date": time.strftime("%Y-%m-%d")}
    runs = [{**r, "machine": machine} for r in runs]
    runs = [r for r in recorded if (r["path"], r["seed"], r["snippet"]) not in done] + runs
    args.record.write_text(json.dumps({"paths": PATHS, "runs": runs}, indent=1))
    failures = report(runs)
    print(f"\nrecorded in {args.record.relative_to(REPO) if args.record.is_relative_to(REPO) else args.record}")
    return 1 if failures else 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
