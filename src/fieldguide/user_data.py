"""Your own data: ``--data FILE`` on the snippets that train or evaluate, one format per kind.

Every file is read and checked in full before any model loads; a problem is one
``FieldGuideError`` naming the file, the line and what is wrong (``run_main`` prints it as
one ``error:`` line, exit 2, with nothing written to ``--out``). The formats:

* ``classification``: CSV, TSV or JSONL with ``text`` and ``label``. The label set is the
  data's (sorted by name); with a ``split`` column (``train``, ``validation``, ``test``)
  the file's own splits are used, otherwise it is split 60/20/20 per label (stratified),
  shuffled with ``--seed``.
* ``knowledge``: CSV with ``question``, ``answer`` and optional ``aliases`` (other accepted
  answers, ``|``-separated).
* ``sft``: JSONL with ``prompt`` and ``response``.
* ``preferences``: JSONL with ``prompt``, ``chosen`` and ``rejected``.
* ``tasks``: JSONL with ``task``, ``prompt`` and ``response``: whole tasks are held out (the
  first half of the tasks, in the order they first appear, is trained on).
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

from fieldguide.errors import FieldGuideError

FORMATS = {
    "classification": "CSV, TSV or JSONL with columns text and label (any label names); an optional "
                      "split column (train, validation, test) keeps your splits, otherwise each label's "
                      "rows are split 60/20/20, shuffled with --seed",
    "knowledge": "CSV with columns question, answer and optional aliases (other accepted answers, "
                 "|-separated); the bare-answer instruction is appended to each question",
    "sft": "JSONL, one object per line with prompt and response",
    "preferences": "JSONL, one object per line with prompt, chosen and rejected",
    "tasks": "JSONL, one object per line with task, prompt and response (task: a name shared by that "
             "task's examples; prompt: the instruction and its input as the user writes them); at least two "
             "tasks: the first half of them (rounded up), in the order they first appear, is fine-tuned on "
             "and needs at least 2 examples each, the rest are held-out tasks never trained on",
}
EXTENSIONS = {"classification": (".csv", ".tsv", ".jsonl"), "knowledge": (".csv",),
              "sft": (".jsonl",), "preferences": (".jsonl",),
              "tasks": (".jsonl",)}
SPLITS = ("train", "validation", "test")


def add_data_flag(parser, kind: str, default: str) -> None:
    """``--data FILE`` with the format of ``kind`` in its help; ``default`` says what runs without it."""
    parser.add_argument("--data", type=Path, default=None, metavar="FILE",
                        help=f"your own data instead of {default}: {FORMATS[kind]}")


@dataclass(frozen=True)
class Record:
    line: int  # where the record starts in the file (1-based; a CSV's header is line 1)
    values: dict


def _text(path: Path) -> str:
    if not path.exists():
        raise FieldGuideError(f"--data {path} does not exist")
    if path.is_dir():
        raise FieldGuideError(f"--data {path} is a folder, not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise FieldGuideError(f"--data {path}, line {line}: not UTF-8 text (undecodable byte "
                              f"0x{raw[err.start]:02x}); save the file as UTF-8") from None
    if not text.strip():
        raise FieldGuideError(f"--data {path} is empty")
    return text


def read_records(path: Path | str, kind: str, required: tuple[str, ...],
                 optional: tuple[str, ...] = (), numbers: tuple[str, ...] = ()) -> list[Record]:
    """The file's records; each has every ``required`` field as non-empty text (a JSON number in a
    field of ``numbers``, such as a label 0 or 1, is read as its text)."""
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in EXTENSIONS[kind]:
        raise FieldGuideError(f"--data {path}: unknown extension '{path.suffix or '(none)'}' for this "
                              f"snippet; use {', '.join(EXTENSIONS[kind])} ({FORMATS[kind]})")
    text = _text(path)
    records = []
    if extension == ".jsonl":
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON text may hold U+2028
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as err:
                raise FieldGuideError(f"--data {path}, line {number}: not valid JSON ({err.msg})") from None
            if not isinstance(value, dict):
                raise FieldGuideError(f"--data {path}, line {number}: a JSON object is needed, "
                                      f"got {type(value).__name__}")
            records.append(Record(number, value))
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if extension == ".tsv" else ",")
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise FieldGuideError(f"--data {path}, line 1: missing column '{missing[0]}' in the header "
                                  f"(found: {', '.join(header) or 'nothing'}; needed: {', '.join(required)})")
        for row in reader:  # the line a row starts on: where it ends, less the line breaks inside its fields
            start = reader.line_num - sum(v.count("\n") for v in row.values() if isinstance(v, str))
            if None in row:
                raise FieldGuideError(f"--data {path}, line {start}: more fields than the header has columns")
            records.append(Record(start, {k: v for k, v in row.items() if v is not None}))
    if not records:
        raise FieldGuideError(f"--data {path} has no records")
    for record in records:
        for column in numbers:
            value = record.values.get(column)
            if isinstance(value, int) and not isinstance(value, bool):
                record.values[column] = str(value)
        for column in required:
            value = record.values.get(column)
            if value is None:
                raise FieldGuideError(f"--data {path}, line {record.line}: missing '{column}'")
            if not isinstance(value, str):
                raise FieldGuideError(f"--data {path}, line {record.line}: '{column}' must be text, "
                                      f"got {json.dumps(value)}")
            if not value.strip():
                raise FieldGuideError(f"--data {path}, line {record.line}: empty '{column}'")
        for column in optional:
            if record.values.get(column) is not None and not isinstance(record.values[column], str):
                raise FieldGuideError(f"--data {path}, line {record.line}: '{column}' must be text")
    return records


# ---------------------------------------------------------------- text classification
def text_classification(path: Path | str, seed: int = 0):
    """(splits, label names) from your file: ``{"train"|"validation"|"test": Split}``.

    Labels are the distinct ``label`` values, sorted; a label needs at least 3 examples to
    be split (one each for train, validation and test) unless the file has a ``split`` column.
    """
    from fieldguide.classification import Split

    path = Path(path)
    records = read_records(path, "classification", ("text", "label"), ("split",), numbers=("label",))
    labels = tuple(sorted({r.values["label"].strip() for r in records}))
    if len(labels) < 2:
        raise FieldGuideError(f"--data {path}: only one label ('{labels[0]}'); a classifier needs at least two")
    has_split = any("split" in r.values and r.values["split"] is not None for r in records)
    chosen: dict[str, list[Record]] = {name: [] for name in SPLITS}
    if has_split:
        for r in records:
            name = (r.values.get("split") or "").strip()
            if name not in SPLITS:
                raise FieldGuideError(f"--data {path}, line {r.line}: split '{name}' is not one of "
                                      f"{', '.join(SPLITS)}")
            chosen[name].append(r)
        for name in SPLITS:
            if not chosen[name]:
                raise FieldGuideError(f"--data {path}: no rows with split '{name}' (train, validation "
                                      f"and test are all needed)")
        trained = {r.values["label"].strip() for r in chosen["train"]}
        for label in labels:
            if label not in trained:
                first = next(r.line for r in records if r.values["label"].strip() == label)
                raise FieldGuideError(f"--data {path}, line {first}: label '{label}' has no example in "
                                      f"the train split")
    else:
        rng = random.Random(seed)
        for label in labels:
            rows = [r for r in records if r.values["label"].strip() == label]
            if len(rows) < 3:
                raise FieldGuideError(
                    f"--data {path}, line {rows[0].line}: label '{label}' has {len(rows)} example"
                    f"{'s' if len(rows) > 1 else ''}, too few to split (at least 3: one each for train, "
                    f"validation and test; or add a split column)")
            rng.shuffle(rows)
            n_test = n_validation = max(1, round(0.2 * len(rows)))
            chosen["test"] += rows[:n_test]
            chosen["validation"] += rows[n_test:n_test + n_validation]
            chosen["train"] += rows[n_test + n_validation:]
        for name in SPLITS:
            rng.shuffle(chosen[name])  # labels mixed, not in blocks
    splits = {name: Split([r.values["text"] for r in rows], [labels.index(r.values["label"].strip()) for r in rows],
                          [False] * len(rows), names=labels)
              for name, rows in chosen.items()}
    return splits, labels


def classification_splits(data: Path | str | None, seed: int = 0):
    """(splits, label names): your ``--data`` file's, or the shipped customer-message set's."""
    if data is None:
        from fieldguide.classification import LABELS, sentiment_splits

        return sentiment_splits(), LABELS
    return text_classification(data, seed)


# ---------------------------------------------------------------- knowledge activation
@dataclass(frozen=True)
class Fact:
    question: str
    answer: str
    accepted: tuple[str, ...]  # the answer first, then the aliases
    line: int


def knowledge_facts(path: Path | str, at_least: int = 4) -> list[Fact]:
    """Question/answer pairs from your CSV (``aliases``: other accepted answers, ``|``-separated)."""
    path = Path(path)
    records = read_records(path, "knowledge", ("question", "answer"), ("aliases",))
    facts = [Fact(r.values["question"].strip(), r.values["answer"].strip(),
                  (r.values["answer"].strip(), *[a.strip() for a in (r.values.get("aliases") or "").split("|")
                                                 if a.strip()]), r.line) for r in records]
    if len(facts) < at_least:
        raise FieldGuideError(f"--data {path}: {len(facts)} facts, too few (at least {at_least}: half "
                              f"train, half held out)")
    return facts


# ---------------------------------------------------------------- SFT and preferences
def instruction_pairs(path: Path | str, at_least: int = 4) -> list[dict]:
    """``{"prompt", "response", "category", "line"}`` per line of your JSONL (one category: ``data``)."""
    path = Path(path)
    records = read_records(path, "sft", ("prompt", "response"))
    if len(records) < at_least:
        raise FieldGuideError(f"--data {path}: {len(records)} examples, too few (at least {at_least})")
    return [{"prompt": r.values["prompt"], "response": r.values["response"], "category": "data",
             "line": r.line} for r in records]


def preference_triples(path: Path | str, seed: int = 0, at_least: int = 4) -> list[dict]:
    """``{"prompt", "chosen", "rejected", "split"}`` per line of your JSONL; a quarter (at most
    10, at least 1) is held out, drawn with ``seed``."""
    path = Path(path)
    records = read_records(path, "preferences", ("prompt", "chosen", "rejected"))
    if len(records) < at_least:
        raise FieldGuideError(f"--data {path}: {len(records)} pairs, too few (at least {at_least})")
    for r in records:
        if r.values["chosen"].strip() == r.values["rejected"].strip():
            raise FieldGuideError(f"--data {path}, line {r.line}: 'chosen' and 'rejected' are the same")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    heldout = set(order[:min(10, max(1, len(records) // 4))])
    return [{"prompt": r.values["prompt"], "chosen": r.values["chosen"], "rejected": r.values["rejected"],
             "split": "heldout" if i in heldout else "train", "line": r.line} for i, r in enumerate(records)]


# ---------------------------------------------------------------- instruction tasks
def instruction_task_rows(path: Path | str) -> tuple[list[dict], tuple[str, ...]]:
    """(examples, tasks trained on) from your JSONL: ``{"task", "prompt", "response", "line"}`` per line,
    in file order. The first half of the tasks (rounded up, in order of first appearance) is trained
    on, the rest are held out whole; a trained task needs 2 examples (one to train on, one to test)."""
    path = Path(path)
    records = read_records(path, "tasks", ("task", "prompt", "response"))
    rows = [{"task": r.values["task"].strip(), "prompt": r.values["prompt"], "response": r.values["response"].strip(),
             "line": r.line} for r in records]
    tasks = list(dict.fromkeys(row["task"] for row in rows))
    if len(tasks) < 2:
        raise FieldGuideError(f"--data {path}: only one task ('{tasks[0]}'); at least two are needed, one "
                              f"to fine-tune on and one held out")
    seen = tuple(tasks[:(len(tasks) + 1) // 2])
    for task in seen:
        examples = [row for row in rows if row["task"] == task]
        if len(examples) < 2:
            raise FieldGuideError(f"--data {path}, line {examples[0]['line']}: task '{task}' is fine-tuned on "
                                  f"and has 1 example; it needs at least 2 (some to train on, some to test on)")
    return rows, seen
