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


# --data: the kind of file a snippet reads, told by the format its --help shows (fieldguide.user_data)
DATA_KINDS = {  # phrase in --help: (kind, extension, fields, a valid record)
    "columns text and label": ("classification", ".csv", ["text", "label"], ["Fine, thanks.", "neutral"]),
    "columns question, answer": ("knowledge", ".csv", ["question", "answer"], ["Who wrote Hamlet?", "Shakespeare"]),
    "prompt, chosen and rejected": ("preferences", ".jsonl", ["prompt", "chosen", "rejected"], ["Hi?", "Hi.", "Well, hi."]),
    # before "prompt and response": the tasks format's phrase contains it
    "task, prompt and response": ("tasks", ".jsonl", ["task", "prompt", "response"], ["plural", "Plural of: cat", "cats"]),
    "prompt and response": ("sft", ".jsonl", ["prompt", "response"], ["Say hi.", "Hi."]),
}


def data_kind(help_text: str):
    shown = " ".join(help_text.split())
    if "--data" not in shown:
        return None
    return next((kind for phrase, kind in DATA_KINDS.items() if phrase in shown), None)


def write_records(path: Path, fields: list[str], rows: list[list[str]], extension: str) -> Path:
    if extension == ".csv":
        import csv

        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(dict(zip(fields, row))) + "\n" for row in rows), encoding="utf-8")
    return path


def data_cases(kind, scratch: Path) -> dict[str, list[str]]:
    """Bad --data files of the snippet's kind: each line of the file is numbered as an editor shows it."""
    name, extension, fields, valid = kind
    folder = scratch / "data"
    folder.mkdir()
    cases = {"missing --data file": folder / f"no-such-file{extension}"}
    (folder / f"empty{extension}").write_bytes(b"")
    cases["empty --data file"] = folder / f"empty{extension}"
    cases["--data with an unknown extension"] = write_records(folder / "data.txt", fields, [valid], ".jsonl")
    good = write_records(folder / f"good{extension}", fields, [valid, valid], extension).read_bytes()
    (folder / f"bytes{extension}").write_bytes(good + b"\xff\xfe not UTF-8\n")
    cases["undecodable bytes in --data"] = folder / f"bytes{extension}"
    # line 3: the second record (CSV: after the header) with its last field empty
    rows = [valid] * (1 if extension == ".csv" else 2) + [valid[:-1] + [""]]
    cases["empty field in --data"] = write_records(folder / f"empty-field{extension}", fields, rows, extension)
    if extension == ".csv":
        cases["--data CSV lacks a column"] = write_records(folder / f"no-column{extension}", fields[:-1],
                                                             [valid[:-1]], extension)
    else:
        path = write_records(folder / f"no-key{extension}", fields[:-1], [valid[:-1]], extension)
        path.write_text(write_records(folder / "one.jsonl", fields, [valid], extension).read_text() + path.read_text())
        cases["--data JSONL line lacks a key"] = path
        path = folder / f"not-json{extension}"
        path.write_text(json.dumps(dict(zip(fields, valid))) + "\n{not json\n")
        cases["--data line not JSON"] = path
    if name == "classification":  # label 'positive' twice only: too few for train, validation and test
        rows = [["a", "negative"]] * 3 + [["b", "positive"]] * 2
        cases["--data label too rare to split"] = write_records(folder / f"rare{extension}", fields, rows, extension)
    if name == "tasks":  # whole tasks are held out: a file needs two tasks, and a trained task two examples
        path = write_records(folder / f"no-task{extension}", fields[1:], [valid[1:]], extension)
        path.write_text(write_records(folder / "one.jsonl", fields, [valid], extension).read_text() + path.read_text())
        cases["--data JSONL line lacks 'task'"] = path
        cases["--data with one task only"] = write_records(folder / f"one-task{extension}", fields, [valid] * 3, extension)
        rows = [valid, ["past_tense", "Past tense of: walk", "walked"]]  # 'plural' is trained on: 1 example
        cases["--data trained task with one example"] = write_records(folder / f"thin{extension}", fields, rows,
                                                                      extension)
    return {case: ["--data", str(path)] for case, path in cases.items()}


def main() -> None:
    path = sys.argv[1]
    help_run = run(path, ["--help"])
    scratch = Path(tempfile.mkdtemp(prefix="fieldguide-bad-input-"))
    a_file = scratch / "a-file.txt"
    a_file.write_text("not a folder\n")
    cases = {
        "bad --scale": ["--scale", "huge"],
        "bad --seed": ["--seed", "zero"],
        "negative --seed": ["--seed", "-1"],
        "--seed past 32 bits": ["--seed", "99999999999"],
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
    kind = data_kind(help_run["stdout"])
    if kind:
        cases.update(data_cases(kind, scratch))
    results = {}
    for name, argv in cases.items():
        if "--out" not in argv:
            out = scratch / name.replace(" ", "-")
            argv = [*argv, "--out", str(out)]
        else:
            out = Path(argv[argv.index("--out") + 1])
        result = run(path, argv)
        result["out_left"] = sorted(p.name for p in out.iterdir()) if out.is_dir() else None
        if "--data" in argv:
            result["data_file"] = Path(argv[argv.index("--data") + 1]).name
        results[name] = result
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"help": help_run, "data_kind": kind[0] if kind else None, "cases": results}))


if __name__ == "__main__":
    main()
