"""How long the whole suite takes, phase by phase, from a clean clone with empty caches.

Clones the repository's HEAD into a temporary folder, then times, each as a whole process:

1. set-up (``bash dev.sh setup``: the pinned virtual environment),
2. the SmolLM2 conversion (GGUF -> safetensors, once per cache),
3. the whole suite, cold (``bash dev.sh test``), split by test file from pytest's JUnit
   report: snippet tests, the site build (inside the first test that needs ``built_site``),
   the browser tests,
4. the whole suite again with nothing changed (everything should come from the caches),
5. a prose-only edit: one sentence added to a page, then ``mkdocs build --strict``.

For each it prints wall seconds and CPU utilisation (user + system seconds of all child
processes over wall seconds times cores). Targets (issue 28): the cold ``.ci/run`` (phases 1-3)
at most 1.15 times a named earlier commit's, timed the same way right after on the same machine
(``--against``); an unchanged re-run <= 45 s; a prose edit <= 5 s.

    bash dev.sh bench                            # HEAD: about an hour on 2 cores
    bash dev.sh bench --against 17e1f19          # then 17e1f19, and the ratio of cold times
    bash dev.sh bench --keep                     # keep the clone to look at
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1


def timed(label: str, command: list[str], cwd: Path, env: dict, log: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n===== {label}: {' '.join(command)}\n")
        out.flush()
        code = subprocess.call(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row = {"phase": label, "exit": code, "wall": wall, "cpu": cpu, "utilisation": cpu / (wall * CORES)}
    print(f"{label:<34} {wall:8.1f} s   CPU {cpu:8.1f} s   utilisation {row['utilisation']:5.0%}   exit {code}",
          flush=True)
    return row


def by_test_file(junit: Path) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("classname", "").split(".")
        key = f"{name[1]}.py" if len(name) > 1 and name[0] == "tests" else case.get("file") or case.get("classname")
        seconds[key] += float(case.get("time", 0))
    return dict(sorted(seconds.items(), key=lambda kv: -kv[1]))


def time_clone(rev: str, skip_second: bool, keep: bool) -> tuple[list[dict], float]:
    """Clone ``rev`` of this repository into a temporary folder and time its phases: (rows, cold seconds)."""
    work = Path(tempfile.mkdtemp(prefix="fieldguide-suite-time-"))
    clone, log = work / "clone", work / "log.txt"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", rev], cwd=clone, check=True)
    if (REPO.parent / "shared").is_dir():  # the course seed and facts beside the clone, as in CI
        (work / "shared").symlink_to(REPO.parent / "shared")
    env = {**os.environ, "FIELDGUIDE_CACHE": str(work / "cache"), "CI": os.environ.get("CI", "true")}
    for name in ("FIELDGUIDE_RUNS", "FIELDGUIDE_EXECUTE", "FIELDGUIDE_RECORDS"):  # a clean clone's defaults
        env.pop(name, None)
    print(f"clean clone of {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=clone, capture_output=True, text=True).stdout.strip()} "
          f"in {clone}, empty FIELDGUIDE_CACHE; {CORES} cores; log {log}", flush=True)
    rows = [timed("set-up (dev.sh setup)", ["bash", "dev.sh", "setup"], clone, env, log),
            timed("SmolLM2 conversion", [str(clone / ".venv/bin/python"), "-c",
                                         "from fieldguide import model_folder; model_folder('smollm2-135m-instruct')"],
                  clone, env, log)]
    junit = work / "cold.xml"
    rows.append(timed("whole suite, cold (dev.sh test)", ["bash", "dev.sh", "test", f"--junitxml={junit}"],
                      clone, env, log))
    cold = rows[0]["wall"] + rows[1]["wall"] + rows[2]["wall"]
    if junit.is_file():
        print("\ncold suite by test file (seconds; the site build counts in the first file that needs it):")
        for name, seconds in by_test_file(junit).items():
            if seconds >= 1:
                print(f"  {seconds:7.1f}  {name}")
    if not skip_second:
        print()
        rows.append(timed("whole suite, nothing changed", ["bash", "dev.sh", "test", "-q"], clone, env, log))
        page = clone / "docs" / "index.md"
        page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence of prose.\n", encoding="utf-8")
        rows.append(timed("prose edit: mkdocs build --strict",
                          [str(clone / ".venv/bin/mkdocs"), "build", "--strict", "--site-dir", str(work / "site")],
                          clone, {**env, "NO_MKDOCS_2_WARNING": "1"}, log))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return rows, cold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    parser.add_argument("--skip-second", action="store_true", help="skip the unchanged re-run and the prose edit")
    parser.add_argument("--rev", default="HEAD", help="the commit to time (default: HEAD)")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="then time this commit the same way, right after, and print the ratio of cold times")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    rows, cold = time_clone(args.rev, args.skip_second, args.keep)
    print(f"\ncold .ci/run (set-up + conversion + suite): {cold:.0f} s ({cold / 60:.1f} min)")
    if not args.skip_second:
        print(f"unchanged re-run: {rows[3]['wall']:.0f} s (target <= 45); prose edit: {rows[4]['wall']:.1f} s "
              f"(target <= 5)")
    record = {"rev": args.rev, "cores": CORES, "rows": rows, "cold_s": cold}
    failed = any(r["exit"] for r in rows)
    if args.against:
        print(f"\nthe same, right after, for {args.against}:")
        base_rows, base_cold = time_clone(args.against, True, args.keep)
        ratio = cold / base_cold
        print(f"\ncold .ci/run: {args.rev} {cold:.0f} s, {args.against} {base_cold:.0f} s: ratio {ratio:.2f} "
              f"(target <= 1.15)")
        record.update(against=args.against, against_rows=base_rows, against_cold_s=base_cold, ratio=ratio)
        failed = failed or any(r["exit"] for r in base_rows)
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
