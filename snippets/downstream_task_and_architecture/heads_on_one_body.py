"""One pre-trained encoder body, a different head for each downstream task.

The downstream task decides the *output layer*, not the encoder: sentence classification
reads one vector per text, token tagging one vector per token, extractive QA a start and
an end score per token, and semantic search uses the pooled vector with no head at all.
We load all-MiniLM-L6-v2 under each task's architecture and measure, for each:

* the shape of what comes out for a batch of customer messages;
* how many parameters are new (randomly initialised) and how many come from pre-training;
* that the encoder weights are the very same pre-trained numbers under every head;
* what a fresh, untrained classification head scores on the sentiment test split.

    python snippets/downstream_task_and_architecture/heads_on_one_body.py --scale ci

Your own labelled texts: ``--data FILE`` (CSV, TSV or JSONL with ``text`` and ``label``): the
classification head gets one output per label of yours and is scored, untrained, on your
test split; the other heads only show their output shapes on your texts (regression, tagging
and span extraction need targets this format does not have).
"""

import torch
from safetensors import safe_open
from transformers import (AutoModel, AutoModelForQuestionAnswering,
                          AutoModelForSequenceClassification, AutoModelForTokenClassification)
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, model_folder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl
from fieldguide.models import load_encoder
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = {
    "ci": {"n_eval": 240, "batch_size": 32},
    "gpu": {"n_eval": 240, "batch_size": 128},
}
LABELS = ["negative", "neutral", "positive"]
# --8<-- [start:idea]
# task -> (transformers class, head settings, what the head predicts)
TASKS = {
    "sentence embedding (search, clustering)": (AutoModel, {}, "one vector per text (mean of token vectors)"),
    "sentence classification (sentiment)": (AutoModelForSequenceClassification, {"num_labels": 3}, "3 class scores per text"),
    "sentence regression (a score)": (AutoModelForSequenceClassification, {"num_labels": 1}, "1 number per text"),
    "token classification (tag spans)": (AutoModelForTokenClassification, {"num_labels": 5}, "5 tag scores per token"),
    "extractive question answering": (AutoModelForQuestionAnswering, {}, "start and end score per token"),
}
# --8<-- [end:idea]
PROBE = "encoder.layer.0.attention.self.query.weight"  # one pre-trained matrix to compare
CLASSIFY = "sentence classification (sentiment)"


def test_messages(data, seed, n):
    """(texts, gold label ids, label names): the first n of the shipped test split, or of your file's."""
    if data is None:
        test = [r for r in read_jsonl("customer_sentiment.jsonl") if r["split"] == "test"][:n]
        return [r["text"] for r in test], [LABELS.index(r["label"]) for r in test], LABELS
    splits, labels = classification_splits(data, seed)  # checked in full before any model loads
    return splits["test"].texts[:n], splits["test"].labels[:n], list(labels)


def body_of(model):
    """The shared BERT encoder inside any of the task models."""
    return getattr(model, "bert", model)


def mean_pool(hidden, attention_mask):
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def output_shapes(model, batch):
    with torch.no_grad():
        out = model(**batch)
    if hasattr(out, "logits"):
        return {"logits": list(out.logits.shape)}
    if hasattr(out, "start_logits"):
        return {"start_logits": list(out.start_logits.shape), "end_logits": list(out.end_logits.shape)}
    pooled = mean_pool(out.last_hidden_state, batch["attention_mask"])
    return {"embedding": list(pooled.shape)}


def main(args):
    settings = PRESETS[args.scale]
    seed_everything(args.seed)
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()  # "newly initialized" warnings: we count them ourselves
    messages, gold, labels = test_messages(args.data, args.seed, settings["n_eval"])
    folder = model_folder(args.model)
    with safe_open(f"{folder}/model.safetensors", "pt") as weights:
        pretrained_names = set(weights.keys())
        probe_reference = weights.get_tensor(PROBE)

    _, tokenizer = load_encoder(args.model)
    batch = tokenizer(messages[:2], return_tensors="pt", padding=True).to(device)

    rows, fresh_classifier = [], None
    for key, (cls, head, predicts) in TASKS.items():
        task = key
        if key == CLASSIFY and args.data is not None:  # --data: one output per label of yours
            task, head, predicts = ("sentence classification (your labels)", {"num_labels": len(labels)},
                                    f"{len(labels)} class scores per text")
        # --8<-- [start:heads]
        model = cls.from_pretrained(folder, use_safetensors=True, **head).to(device).eval()
        total = sum(p.numel() for p in model.parameters())
        new = sum(p.numel() for name, p in model.named_parameters()
                  if name.removeprefix("bert.") not in pretrained_names)
        same_body = torch.equal(body_of(model).state_dict()[PROBE].cpu(), probe_reference)
        # --8<-- [end:heads]
        shapes = output_shapes(model, batch)
        shown = ", ".join(f"{k} {v}" for k, v in shapes.items())
        rows.append([task, cls.__name__, predicts, shown, new, total - new, same_body])
        print(f"{task:42s} {shown:48s} new params {new:>9,d}  pre-trained {total - new:>11,d}  "
              f"same encoder weights: {same_body}")
        if key == CLASSIFY:
            fresh_classifier = model

    # A new head knows nothing about the task until it is trained.
    gold = torch.tensor(gold)
    predictions = []
    with torch.no_grad():
        for start in range(0, len(messages), settings["batch_size"]):
            enc = tokenizer(messages[start:start + settings["batch_size"]], return_tensors="pt",
                            padding=True, truncation=True).to(device)
            predictions.append(fresh_classifier(**enc).logits.argmax(-1).cpu())
    predictions = torch.cat(predictions)
    accuracy = (predictions == gold).float().mean().item()
    share_top = torch.bincount(predictions, minlength=len(labels)).max().item() / len(predictions)
    print(f"\nuntrained {'sentiment' if args.data is None else 'classification'} head on {len(messages)} test "
          f"messages: accuracy {accuracy:.1%} (chance {1 / len(labels):.1%}), {share_top:.0%} of them given the "
          "same label")

    results = ResultsWriter(args.out, "downstream_task_and_architecture/heads_on_one_body", args)
    summary(results, rows, accuracy=accuracy, share_top=share_top)
    results.save()


def summary(results, rows, *, accuracy, share_top):
    """Record the heads table and the metrics the page reads."""
    results.table("heads", ["task", "transformers class", "head predicts", "output for 2 messages",
                            "new parameters", "pre-trained parameters", "same encoder weights"],
                  rows, caption="One all-MiniLM-L6-v2 body under five task architectures.",
                  formats=["{}", "`{}`", "{}", "{}", "{:,}", "{:,}", "{}"])
    by_task = dict(zip(TASKS, rows))  # by the task's key (--data renames the classifier's row)
    results.metric("body_params", rows[0][5], "{:,}")
    results.metric("classifier_new_params", by_task[CLASSIFY][4], "{:,}")
    results.metric("token_tagger_new_params", by_task["token classification (tag spans)"][4], "{:,}")
    results.metric("qa_new_params", by_task["extractive question answering"][4], "{:,}")
    results.metric("max_new_share", max(r[4] / (r[4] + r[5]) for r in rows), "{:.3%}")
    results.metric("all_same_body", all(r[6] for r in rows))
    results.metric("untrained_head_accuracy", accuracy, "{:.1%}")
    results.metric("untrained_head_top_label_share", share_top, "{:.0%}")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set (only the classification head uses your "
                  "labels, one output each, scored untrained on your test split; the regression, tagging and "
                  "question-answering heads only show their output shapes on your texts: this format has no "
                  "targets for them)")
    run_main(main, parser)
