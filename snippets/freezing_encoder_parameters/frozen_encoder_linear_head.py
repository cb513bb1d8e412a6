"""Frozen encoder + a small head: all-MiniLM-L6-v2's body stays fixed; only the classification head learns.

The model is the standard ``BertForSequenceClassification``: the body (embeddings and
all 6 layers) and, on top, the head, which reads the first token's vector ([CLS])
through the pooler (a 384 x 384 layer with tanh) into a 384 x 3 linear classifier. The
body is frozen, so it runs once over every message (no gradients) and the first-token
vectors are reused for every label count and seed; only the head is trained on them.
The trained head is copied back into the model, which is saved as a standard folder:

    python snippets/freezing_encoder_parameters/frozen_encoder_linear_head.py --scale ci --out runs/frozen
    python -c "from transformers import pipeline; print(pipeline('text-classification', model='runs/frozen/model')('Still no refund.'))"
"""

import copy

import torch

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import (ID2LABEL, LABELS, PeakMemory, accuracy, label_efficiency, length_batches,
                                       record, save_classifier, sentiment_splits)

PRESETS = {  # head: "classifier" (pre-trained pooler frozen too) or "pooler+classifier" (both trained)
    "ci": {"counts": [8, 32, 128, 480], "seeds": [0, 1, 2, 3, 4], "max_length": 64, "head": "classifier",
           "head_steps": 300, "lr": 1e-2, "l2": 1e-4, "other_head": {"lr": 1e-3, "l2": 1e-2}},
    "gpu": {"counts": [8, 16, 32, 64, 128, 256, 480], "seeds": list(range(10)), "max_length": 128,
            "head": "classifier", "head_steps": 300, "lr": 1e-2, "l2": 1e-4, "other_head": {"lr": 1e-3, "l2": 1e-2}},
}  # lr and l2 of each head chosen on the validation split (lr 1e-3, 1e-2; l2 0 .. 1e-2 tried)


@torch.no_grad()
def first_token_vectors(model, tokenizer, texts, max_length):
    """The frozen body's last-layer vector of each text's first token: what the head reads."""
    vectors = torch.zeros(len(texts), model.config.hidden_size)
    for indices, batch in length_batches(tokenizer, texts, 64, max_length):
        vectors[indices] = model.bert(**batch.to(model.device)).last_hidden_state[:, 0].cpu()
    return vectors


def train_head(model, features, labels, head, steps, lr, l2, seed):
    """Train a copy of the model's head on the frozen first-token vectors (full batch, Adam, L2 penalty).

    The head is BertForSequenceClassification's own: pooler (dense + tanh), then the
    classifier; the classifier starts from fresh random weights, the pooler from the
    pre-trained ones, and it learns too only when ``head == "pooler+classifier"``.
    """
    torch.manual_seed(seed)
    modules = torch.nn.ModuleDict({"pooler": copy.deepcopy(model.bert.pooler).cpu(),
                                   "classifier": torch.nn.Linear(features.shape[1], len(LABELS))})
    modules["pooler"].requires_grad_(head == "pooler+classifier")
    trainable = [p for p in modules.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    gold = torch.tensor(labels)
    for _ in range(steps):
        logits = modules["classifier"](modules["pooler"].activation(modules["pooler"].dense(features)))
        penalty = sum(p.pow(2).sum() for p in trainable if p.dim() == 2)  # weights, not biases
        loss = torch.nn.functional.cross_entropy(logits, gold) + l2 * penalty
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return modules.eval()


def classify(modules, features):
    with torch.no_grad():
        return modules["classifier"](modules["pooler"].activation(modules["pooler"].dense(features))).argmax(-1).tolist()


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits = sentiment_splits()
    writer = ResultsWriter(args.out, "freezing_encoder_parameters/frozen_encoder_linear_head", args)
    with PeakMemory(device) as loading:
        # The standard classifier: pre-trained body and pooler, a new 3-way classifier.
        model, tokenizer = load_encoder(args.model, device, num_labels=len(LABELS), id2label=ID2LABEL)
    model.bert.embeddings.requires_grad_(False)  # freeze the body: embeddings
    model.bert.encoder.requires_grad_(False)     # and every layer
    model.eval()
    cache = {}  # text -> vector: the frozen body gives the same vector every time

    def vectors(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, first_token_vectors(model, tokenizer, missing, preset["max_length"])))
        return torch.stack([cache[t] for t in texts])

    def train(subset, seed, head=preset["head"], lr=preset["lr"], l2=preset["l2"]):
        modules = train_head(model, vectors(subset.texts), subset.labels, head, preset["head_steps"], lr, l2,
                             args.seed + seed)
        return modules, lambda texts: classify(modules, vectors(texts))

    print(f"frozen all-MiniLM-L6-v2 body + trained head ({preset['head']}) on {device}; "
          f"test split: {len(splits['test'])} messages")
    headline, runs, head = label_efficiency(f"frozen encoder + {preset['head']}", train, splits,
                                            preset["counts"], preset["seeds"], device)
    body_params = sum(p.numel() for p in model.bert.embeddings.parameters()) + \
        sum(p.numel() for p in model.bert.encoder.parameters())
    headline.total += body_params  # the frozen body is part of the classifier
    headline.peak_mb += loading.peak_mb  # and its weights are part of the memory it needs
    record(writer, [headline], runs)
    writer.metric("frozen_params", body_params, "{:,}")
    writer.metric("head", preset["head"])

    # The other head, on all training labels: scored on validation (where the choice is made) and test.
    other = "pooler+classifier" if preset["head"] == "classifier" else "classifier"
    other_modules, _ = train(splits["train"], 0, head=other, **preset["other_head"])
    validation = splits["validation"]
    for key, modules in (("", head), ("other_head_", other_modules)):
        writer.metric(f"{key}validation_accuracy", accuracy(classify(modules, vectors(validation.texts)),
                                                            validation.labels), "{:.1%}")
    writer.metric("other_head", other)
    writer.metric("other_head_accuracy", accuracy(classify(other_modules, vectors(splits["test"].texts)),
                                                  splits["test"].labels), "{:.1%}")
    writer.metric("other_head_trainable", sum(p.numel() for p in other_modules.parameters() if p.requires_grad),
                  "{:,}")
    shown = {k: writer.data["metrics"][k]["text"] for k in ("validation_accuracy", "other_head_validation_accuracy",
                                                             "other_head_accuracy", "other_head_trainable")}
    print(f"{preset['head']} head, all labels: validation {shown['validation_accuracy']}; other head ({other}, "
          f"{shown['other_head_trainable']} trainable): validation {shown['other_head_validation_accuracy']}, "
          f"test {shown['other_head_accuracy']}")

    # The trained head goes back into the standard classifier, saved as a standard folder.
    model.bert.pooler.load_state_dict(head["pooler"].state_dict())
    model.classifier.load_state_dict(head["classifier"].state_dict())
    folder = save_classifier(model, tokenizer, args.out / "model")
    print(f"saved in {folder}; load with pipeline('text-classification', model=...)")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    run_main(main, parser)
