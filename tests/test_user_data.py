"""fieldguide.user_data: the --data formats read as documented (no model loads; fast)."""

from __future__ import annotations

import csv
import json

import pytest

from fieldguide.errors import FieldGuideError
from fieldguide.user_data import (FORMATS, instruction_pairs, instruction_task_rows, knowledge_facts,
                                  preference_triples, text_classification)


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_labels_come_from_the_data_and_each_label_is_split_60_20_20(tmp_path):
    rows = [[f"{label} message {i}", label] for label in ("spam", "ham", "eggs", "toast") for i in range(10)]
    splits, labels = text_classification(write_csv(tmp_path / "d.csv", ["text", "label"], rows))
    assert labels == ("eggs", "ham", "spam", "toast")  # sorted: the saved id2label order
    for name, share in (("train", 6), ("validation", 2), ("test", 2)):
        split = splits[name]
        assert split.names == labels
        assert sorted(split.labels) == sorted(list(range(4)) * share), name
        assert all(text.startswith(labels[y]) for text, y in zip(split.texts, split.labels))
    assert not set(splits["train"].texts) & set(splits["test"].texts)


def test_the_split_is_seeded(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["text", "label"], [[f"m{i}", "ab"[i % 2]] for i in range(20)])
    assert text_classification(path, seed=0)[0]["test"].texts == text_classification(path, seed=0)[0]["test"].texts
    assert text_classification(path, seed=0)[0]["test"].texts != text_classification(path, seed=1)[0]["test"].texts


def test_a_split_column_keeps_the_files_splits_tsv_and_jsonl(tmp_path):
    rows = [["a", "x", "train"], ["b", "y", "train"], ["c", "x", "validation"], ["d", "y", "test"]]
    tsv = write_csv(tmp_path / "d.tsv", ["text", "label", "split"], rows, delimiter="\t")
    jsonl = write_jsonl(tmp_path / "d.jsonl", [dict(zip(["text", "label", "split"], r)) for r in rows])
    for path in (tsv, jsonl):
        splits, labels = text_classification(path)
        assert labels == ("x", "y")
        assert (splits["train"].texts, splits["validation"].texts, splits["test"].texts) == (["a", "b"], ["c"], ["d"])


def test_jsonl_text_may_hold_unicode_line_separators(tmp_path):
    rows = [{"text": f"one\u2028two {i}", "label": "ab"[i % 2]} for i in range(6)]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8")
    splits, _ = text_classification(path)
    assert sum(len(s) for s in splits.values()) == 6


def test_numeric_labels_in_jsonl_are_read_as_text(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": f"t{i}", "label": i % 2} for i in range(12)])
    assert text_classification(path)[1] == ("0", "1")


@pytest.mark.parametrize("content, expected", [
    ("text,label\nfine,a\nfine,a\nfine,a\nok,b\nok,b\n", "line 5: label 'b' has 2 examples, too few to split"),
    ("text,label\n\"a message\nover two lines\",a\n,b\n", "line 4: empty 'text'"),
    ("text,label,split\na,x,train\nb,y,test\nc,x,validation\nd,y,dev\n", "line 5: split 'dev' is not one of"),
    ("text,label,split\na,x,train\nb,y,test\nc,y,validation\n", "line 3: label 'y' has no example in the train split"),
    ("text,label\na,x\nb,x,extra\n", "line 3: more fields than the header has columns"),
    ("text,label\na,x\n\n\nb,\n", "line 5: empty 'label'"),  # blank lines count as lines
    ("text,label\r\na,x\r\n\"two\r\nlines\",y\r\n,y\r\n", "line 5: empty 'text'"),
    ("text,label\na,x\na,x\na,x\n", "only one label ('x')"),
])
def test_bad_classification_files_name_the_line(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FieldGuideError, match="bad.csv") as err:
        text_classification(path)
    assert expected in str(err.value)


def test_knowledge_facts_with_aliases(tmp_path):
    rows = [["Who wrote Hamlet?", "William Shakespeare", "Shakespeare| the Bard "],
            ["What is 2 + 2?", "4", ""], ["Largest planet?", "Jupiter", ""], ["Red planet?", "Mars", ""]]
    facts = knowledge_facts(write_csv(tmp_path / "k.csv", ["question", "answer", "aliases"], rows))
    assert facts[0].accepted == ("William Shakespeare", "Shakespeare", "the Bard")
    assert facts[1].accepted == ("4",) and facts[1].line == 3
    with pytest.raises(FieldGuideError, match="line 1: missing column 'answer'"):
        knowledge_facts(write_csv(tmp_path / "q.csv", ["question", "aliases"], [["q", "a"]]))


def test_sft_and_preference_files(tmp_path):
    pairs = instruction_pairs(write_jsonl(tmp_path / "s.jsonl", [{"prompt": f"p{i}", "response": f"r{i}"}
                                                                 for i in range(8)]))
    assert [p["prompt"] for p in pairs] == [f"p{i}" for i in range(8)] and {p["category"] for p in pairs} == {"data"}
    rows = [{"prompt": f"p{i}", "chosen": "short", "rejected": "long and rambling"} for i in range(20)]
    triples = preference_triples(write_jsonl(tmp_path / "p.jsonl", rows), seed=0)
    assert sum(t["split"] == "heldout" for t in triples) == 5  # a quarter, at most ten
    assert triples == preference_triples(tmp_path / "p.jsonl", seed=0)
    rows[3]["rejected"] = "short"
    with pytest.raises(FieldGuideError, match="line 4: 'chosen' and 'rejected' are the same"):
        preference_triples(write_jsonl(tmp_path / "same.jsonl", rows))


def test_every_kind_has_a_documented_format():
    assert set(FORMATS) == {"classification", "knowledge", "sft", "preferences", "tasks"}


def test_tasks_the_first_half_of_the_tasks_is_trained_on_the_rest_held_out_whole(tmp_path):
    rows = [{"task": task, "prompt": f"{task} {i}", "response": f"r{i}"}
            for task in ("b", "a", "c") for i in range(3)]
    examples, seen = instruction_task_rows(write_jsonl(tmp_path / "t.jsonl", rows))
    assert seen == ("b", "a")  # in order of first appearance, half rounded up
    assert [e["line"] for e in examples] == list(range(1, 10)) and examples[0]["response"] == "r0"
    with pytest.raises(FieldGuideError, match="line 4: task 'a' is fine-tuned on and has 1 example"):
        instruction_task_rows(write_jsonl(tmp_path / "thin.jsonl", rows[:3] + rows[3:4] + rows[6:]))
    with pytest.raises(FieldGuideError, match="only one task"):
        instruction_task_rows(write_jsonl(tmp_path / "one.jsonl", rows[:3]))
