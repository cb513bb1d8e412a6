"""Run one snippet's command line many times in one process: --help, then each bad input.

Used by tests/test_snippet_errors.py. Each case executes the snippet file as ``__main__``
with its own ``sys.argv`` (imports are paid once, so a case costs milliseconds) and records
the exit code, stdout, stderr, whether an exception escaped, and what ``--out`` holds after.
Prints one JSON object: {"help": {...}, "cases": {name: {...}}}.
"""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import shutil
import sys
import tempfile
import traceback
from pathlib import Path


def run(path: str, argv: list[str]) -> dict:
    out, err = io.StringIO(), io.StringIO()
    code, escaped = 0, None
    sys.argv = [Path(path).name, *argv]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            if isinstance(stop.code, str):
                err.write(stop.code + "\n")
        except BaseException:  # noqa: BLE001 - a traceback is what the test must see
            code, escaped = 1, traceback.format_exc()
    return {"exit": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "traceback": escaped}


def main() -> None:
    path = sys.argv[1]
    help_run = run(path, ["--help"])
    scratch = Path(tempfile.mkdtemp(prefix="fieldguide-bad-input-"))
    a_file = scratch / "a-file.txt"
    a_file.write_text("not a folder\n")
    cases = {
        "bad --scale": ["--scale", "huge"],
        "bad --seed": ["--seed", "zero"],
        "--device cuda without a GPU": ["--device", "cuda"],
        "--out is a file": ["--out", str(a_file)],
        "--out under a file": ["--out", str(a_file / "out")],
    }
    if "--model" in help_run["stdout"]:
        cases["unknown --model"] = ["--model", "smollm9"]
        cases["missing --model folder"] = ["--model", str(scratch / "no-such-model")]
        cases["hub id while offline"] = ["--model", "SomeOrg/not-a-cached-model"]
    if "--sources" in help_run["stdout"]:
        cases["--sources without the runs"] = ["--sources", str(scratch)]
    results = {}
    for name, argv in cases.items():
        if "--out" not in argv:
            out = scratch / name.replace(" ", "-")
            argv = [*argv, "--out", str(out)]
        else:
            out = Path(argv[argv.index("--out") + 1])
        result = run(path, argv)
        result["out_left"] = sorted(p.name for p in out.iterdir()) if out.is_dir() else None
        results[name] = result
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"help": help_run, "cases": results}))


if __name__ == "__main__":
    main()
