"""Plumbing for the sentiment-classification chapters: data, batching, metrics, costs.

The teaching code (the frozen head, the training loop, the LoRA config, the prompt) stays
in the snippets. This module holds what every one of them needs and none should repeat:
the fixed splits of the customer-message set, balanced label subsets for the
label-efficiency curve, tokenised batches, accuracy and macro-F1, peak memory, timing
per 100 messages, and saving a classifier as a standard Hugging Face folder.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from fieldguide.chat_data import PeakMemory, parameter_counts
from fieldguide.datasets import read_jsonl

__all__ = ["PeakMemory", "parameter_counts"]  # re-exported: the snippets measure with them too

LABELS = ("negative", "neutral", "positive")
ID2LABEL = dict(enumerate(LABELS))
DATA_FILE = "customer_sentiment.jsonl"
# The site's one recipe for training an encoder classifier (fieldguide.mean_pooled's readout):
# full fine-tuning, the random-init control, the gentle run of the gentle/harsh pair and the
# fine-tuned arm of the frozen-vs-fine-tuned comparison all train with these settings and this
# seed, so every page that reports "full fine-tuning, all 480 labels" reports the same run.
# ci: lr 3e-4, the rate the strategies page chose on validation for full fine-tuning and for the
# control with this readout (from 1e-4, 3e-4, 1e-3: the grid table of
# fine_tuning_strategies/strategies_on_one_task, at 240 labels);
# 2 epochs, the first 10 % of steps warming up, then linear decay; tiny label sets get at
# least 96 example passes (12 epochs of 8 labels, 3 of 32). max_length 64 keeps every token
# of 99 % of the messages (the longest has 71 tokens with the MiniLM tokenizer).
# gpu: not re-tuned for this readout (no GPU run yet); the usual 5e-5 for 5 epochs.
FINE_TUNING_PRESETS = {
    "ci": {"counts": [8, 32, 128, 480], "seeds": [0, 1], "epochs": 2, "min_examples": 96,
           "lr": 3e-4, "warmup": 0.1, "batch_size": 16, "max_length": 64},
    "gpu": {"counts": [8, 16, 32, 64, 128, 256, 480], "seeds": list(range(10)), "epochs": 5,
            "min_examples": 320, "lr": 5e-5, "warmup": 0.1, "batch_size": 16, "max_length": 128},
}


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: list[int]  # indices into names
    hard: list[bool]
    names: tuple[str, ...] = LABELS  # the label set (your --data file's: fieldguide.user_data)

    def __len__(self) -> int:
        return len(self.texts)


def sentiment_splits() -> dict[str, Split]:
    """The fixed train / validation / test splits of the customer-message set."""
    rows = read_jsonl(DATA_FILE)
    splits = {}
    for name in ("train", "validation", "test"):
        chosen = [r for r in rows if r["split"] == name]
        splits[name] = Split([r["text"] for r in chosen], [LABELS.index(r["label"]) for r in chosen],
                             [bool(r["hard"]) for r in chosen])
    return splits


def label_subset(split: Split, n: int, seed: int) -> Split:
    """``n`` training examples drawn from ``split``, as balanced over the classes as n allows.

    Seeded, and nested for one seed: the 8 examples are among the 32, the 32 among the 128.
    """
    if not 0 < n <= len(split):
        raise ValueError(f"cannot take {n} of {len(split)} examples")
    rng = random.Random(seed)
    by_class = [[i for i, y in enumerate(split.labels) if y == c] for c in range(len(split.names))]
    for indices in by_class:
        rng.shuffle(indices)
    order = [i for group in zip(*by_class) for i in group]  # round-robin over classes
    leftover = [i for group in by_class for i in group[len(order) // len(by_class):]]
    chosen = (order + leftover)[:n]
    rng.shuffle(chosen)
    return Split([split.texts[i] for i in chosen], [split.labels[i] for i in chosen],
                 [split.hard[i] for i in chosen], split.names)


def length_batches(tokenizer, texts: list[str], batch_size: int, max_length: int,
                   order: list[int] | None = None):
    """Yield (indices, tokenised batch): texts grouped by length so little is padding.

    ``order`` (a shuffled index list) makes training batches random; batches are then
    formed from neighbours in length within windows of 8 batches.
    """
    order = list(range(len(texts))) if order is None else list(order)
    lengths = [len(t) for t in texts]
    window = batch_size * 8
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        for b in range(0, len(chunk), batch_size):
            indices = chunk[b:b + batch_size]
            batch = tokenizer([texts[i] for i in indices], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            yield indices, batch


def accuracy(predicted, gold) -> float:
    predicted, gold = list(predicted), list(gold)
    return sum(int(p == g) for p, g in zip(predicted, gold)) / max(len(gold), 1)


def macro_f1(predicted, gold, n_classes: int = len(LABELS)) -> float:
    """Unweighted mean of the per-class F1 scores (a class never predicted scores 0)."""
    predicted, gold = list(predicted), list(gold)
    scores = []
    for c in range(n_classes):
        tp = sum(1 for p, g in zip(predicted, gold) if p == c and g == c)
        fp = sum(1 for p, g in zip(predicted, gold) if p == c and g != c)
        fn = sum(1 for p, g in zip(predicted, gold) if p != c and g == c)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / n_classes


def scores(predicted, gold, n_classes: int = len(LABELS)) -> dict[str, float]:
    return {"accuracy": accuracy(predicted, gold), "macro_f1": macro_f1(predicted, gold, n_classes)}


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._started
        return False


def per_100(seconds: float, n_messages: int) -> float:
    """Seconds per 100 messages."""
    return 100 * seconds / max(n_messages, 1)


def save_classifier(model, tokenizer, folder: Path | str, id2label: dict[int, str] | None = None) -> Path:
    """Save as a standard Hugging Face folder (``pipeline("text-classification", model=...)``),
    with the label names ``id2label`` (default: the customer-message set's)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    id2label = dict(ID2LABEL if id2label is None else id2label)
    model.config.id2label = id2label
    model.config.label2id = {v: k for k, v in id2label.items()}
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder



def epochs_for(n: int, epochs: int, min_examples: int) -> int:
    """Epochs for ``n`` examples: ``epochs``, or more so a tiny set still gets ``min_examples`` passes."""
    return max(epochs, -(-min_examples // max(n, 1)))




def predict(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> list[int]:
    """Class index per text from a sequence-classification model (batched, no gradients)."""
    import torch

    device = next(model.parameters()).device
    predicted = [0] * len(texts)
    model.eval()
    with torch.no_grad():
        for indices, batch in length_batches(tokenizer, texts, batch_size, max_length):
            for i, p in zip(indices, model(**batch.to(device)).logits.argmax(-1).tolist()):
                predicted[i] = p
    return predicted


@dataclass
class Run:
    """One training run of one approach on ``n_labels`` training labels, scored on test."""

    approach: str
    n_labels: int
    seed: int
    accuracy: float
    macro_f1: float
    trainable: int = 0
    total: int = 0
    train_seconds: float = 0.0
    peak_mb: float = 0.0
    infer_per_100: float = 0.0


def label_efficiency(approach: str, train, splits: dict[str, Split], counts, seeds, device,
                     headline_seeds=(0,), draw_seed: int = 0) -> tuple[Run, list[Run], object]:
    """Run ``train(subset, seed) -> (model, predict_fn)`` over label counts and seeds.

    The headline run (all training labels, first seed) goes first, while the process is
    fresh, and is the one whose costs are measured: training wall time, peak memory (load,
    training and prediction together) and inference time per 100 test messages. Smaller
    label counts run with every seed in ``seeds``; the full set with ``headline_seeds``. Seed
    ``s`` draws its labels with ``draw_seed + s``: a run's ``--seed`` moves the label draws too,
    so a claim checked at another seed meets labels it was not tuned on.
    Returns (headline run, every run, the headline model).
    """
    full = len(splits["train"])
    test = splits["test"]
    plan = [(full, s) for s in headline_seeds] + [(n, s) for n in counts if n < full for s in seeds]
    runs, headline_model = [], None
    for n, seed in plan:
        subset = splits["train"] if n == full else label_subset(splits["train"], n, draw_seed + seed)
        with PeakMemory(device) as memory:
            with Stopwatch() as training:
                model, predict_fn = train(subset, seed)
            with Stopwatch() as inference:
                predicted = predict_fn(test.texts)
        trainable, total = parameter_counts(model) if model is not None else (0, 0)
        run = Run(approach, n, seed, **scores(predicted, test.labels, len(test.names)), trainable=trainable,
                  total=total, train_seconds=training.seconds, peak_mb=memory.peak_mb,
                  infer_per_100=per_100(inference.seconds, len(test)))
        runs.append(run)
        print(f"  {approach}: {n:>3} labels, seed {seed}: accuracy {run.accuracy:.1%}, "
              f"macro-F1 {run.macro_f1:.3f} ({training.seconds:.1f} s)", flush=True)
        if headline_model is None:
            headline_model = model
    return runs[0], runs, headline_model


ROW_COLUMNS = ["approach", "training labels", "test accuracy", "macro-F1", "trainable parameters",
               "training wall time (s)", "peak memory (MB)", "inference s / 100 messages"]
ROW_FORMATS = ["{}", "{}", "{:.1%}", "{:.3f}", "{:,}", "{:.1f}", "{:.0f}", "{:.2f}"]
CURVE_COLUMNS = ["approach", "training labels", "seed", "test accuracy", "macro-F1"]


def row(run: Run) -> list:
    return [run.approach, run.n_labels, run.accuracy, run.macro_f1, run.trainable,
            run.train_seconds, run.peak_mb, run.infer_per_100]


def record(writer, headlines: list[Run], runs: list[Run], n_test: int = 240) -> None:
    """Write the standard results every approach snippet shares (the decision page reads them).

    Tables ``rows`` (one per headline run) and ``curve`` (every run); metrics for the
    first headline: accuracy, macro_f1, trainable, total_params, train_seconds, peak_mb,
    infer_per_100.
    """
    first = headlines[0]
    writer.metric("accuracy", first.accuracy, "{:.1%}")
    writer.metric("macro_f1", first.macro_f1, "{:.3f}")
    writer.metric("trainable", first.trainable, "{:,}")
    writer.metric("total_params", first.total, "{:,}")
    writer.metric("trainable_share", first.trainable / first.total if first.total else 0.0, "{:.2%}")
    writer.metric("train_seconds", first.train_seconds, "{:.1f} s")
    writer.metric("peak_mb", first.peak_mb, "{:.0f} MB")
    writer.metric("infer_per_100", first.infer_per_100, "{:.2f} s")
    writer.table("rows", ROW_COLUMNS, [row(r) for r in headlines], formats=ROW_FORMATS,
                 caption=f"Test split ({n_test} messages). Costs measured on the machine that built "
                         "this page; peak memory is above the Python/torch runtime.")
    writer.table("curve", CURVE_COLUMNS,
                 [[r.approach, r.n_labels, r.seed, r.accuracy, r.macro_f1] for r in runs],
                 formats=["{}", "{}", "{}", "{:.1%}", "{:.3f}"],
                 caption="Every run: training labels drawn from the train split, balanced by class.")
    summary = {}
    for r in runs:
        summary.setdefault((r.approach, r.n_labels), []).append(r.accuracy)
    writer.table("curve_summary", ["approach", "training labels", "seeds", "mean accuracy", "min", "max"],
                 [[a, n, len(v), sum(v) / len(v), min(v), max(v)] for (a, n), v in sorted(summary.items())],
                 formats=["{}", "{}", "{}", "{:.1%}", "{:.1%}", "{:.1%}"],
                 caption="Test accuracy over seeds (different label draws and initialisations).")
    for r in headlines:
        print(f"{r.approach}, {r.n_labels} training labels: test accuracy {r.accuracy:.1%}, "
              f"macro-F1 {r.macro_f1:.3f}; trainable {r.trainable:,} of {r.total:,} parameters; "
              f"trained in {r.train_seconds:.1f} s, peak memory {r.peak_mb:.0f} MB, "
              f"{r.infer_per_100:.2f} s per 100 messages")
