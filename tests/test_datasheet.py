"""The customer-message sentiment set: fixed splits that are disjoint, balanced and small enough."""

from collections import Counter

from fieldguide.classification import DATA_FILE, LABELS, sentiment_splits
from fieldguide.datasets import read_jsonl
from fieldguide_site.execute import run_snippet

ROWS = read_jsonl(DATA_FILE)


def _normal(text):
    return " ".join(text.lower().split())


def test_fields_and_labels():
    assert {tuple(sorted(r)) for r in ROWS} == {("domain", "hard", "id", "label", "split", "text")}
    assert {r["label"] for r in ROWS} == set(LABELS)
    assert {r["split"] for r in ROWS} == {"train", "validation", "test"}
    assert len({r["id"] for r in ROWS}) == len(ROWS)


def test_no_text_repeats_within_or_across_splits():
    counts = Counter(_normal(r["text"]) for r in ROWS)
    repeats = [t for t, c in counts.items() if c > 1]
    assert not repeats, f"{len(repeats)} texts repeat, e.g. {repeats[:3]}"


def test_splits_are_disjoint():
    texts = {s: {_normal(r["text"]) for r in ROWS if r["split"] == s} for s in ("train", "validation", "test")}
    assert not texts["train"] & texts["test"]
    assert not texts["train"] & texts["validation"]
    assert not texts["validation"] & texts["test"]


def test_sizes_and_balance():
    splits = sentiment_splits()
    sizes = {name: len(split) for name, split in splits.items()}
    print("split sizes:", sizes)
    assert sizes["train"] <= 500
    assert sizes["test"] >= 200
    for name, split in splits.items():
        per_class = Counter(split.labels)
        print(name, {LABELS[c]: n for c, n in sorted(per_class.items())})
        assert len(per_class) == len(LABELS)
        assert max(per_class.values()) - min(per_class.values()) <= 1, f"{name} is not balanced: {per_class}"


def test_hard_cases_in_every_split_and_class():
    for split in ("train", "validation", "test"):
        for label in LABELS:
            assert any(r["hard"] for r in ROWS if r["split"] == split and r["label"] == label)


def test_stats_snippet_table_matches_data():
    run = run_snippet("datasheet/customer_sentiment_stats")
    table = {row["split"]: row for row in run.table("balance")}
    print(run.stdout)
    assert table["all"]["total"] == len(ROWS)
    assert table["train"]["total"] <= 500 and table["test"]["total"] >= 200
    for split in ("train", "validation", "test"):
        assert len({table[split][label] for label in LABELS}) == 1
