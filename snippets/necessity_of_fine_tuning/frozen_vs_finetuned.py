"""Does a pre-trained encoder need fine-tuning for sentiment, or are its vectors enough?

all-MiniLM-L6-v2 was trained to place texts with similar *topics* close together, not to
separate positive from negative. We classify the customer-sentiment test split three ways
and compare accuracy, overall and on the hard cases (sarcasm, thanks around a complaint):

1. zero-shot: nearest of three label descriptions ("a happy, satisfied customer...");
2. nearest centroid: the average training vector of each class, no gradient step;
3. fine-tuned: the pre-training head discarded, a new 3-way head added, and the whole
   model trained for a couple of epochs on the 480 training messages.

    python snippets/necessity_of_fine_tuning/frozen_vs_finetuned.py --scale ci
"""

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl
from fieldguide.user_data import add_data_flag, text_classification

PRESETS = {
    "ci": {"epochs": 2, "batch_size": 16, "lr": 1e-4, "max_length": 64},
    "gpu": {"epochs": 4, "batch_size": 16, "lr": 5e-5, "max_length": 128},
}
LABELS = ["negative", "neutral", "positive"]
DESCRIPTIONS = {
    "negative": "An angry, disappointed customer complaining about a bad experience.",
    "neutral": "A customer asking a factual question or giving information, without emotion.",
    "positive": "A happy, satisfied customer praising great service.",
}


@torch.no_grad()
def embed(model, tokenizer, texts, settings, device):
    """Mean-pooled, normalised sentence vectors from the frozen pre-trained encoder."""
    out = []
    for start in range(0, len(texts), 64):
        batch = tokenizer(texts[start:start + 64], return_tensors="pt", padding=True, truncation=True,
                          max_length=settings["max_length"]).to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out.append(F.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).cpu())
    return torch.cat(out)


def accuracy(pred, rows, labels=LABELS):
    """(accuracy, accuracy on the hard cases; None where the data marks none)."""
    gold = torch.tensor([labels.index(r["label"]) for r in rows])
    hard = torch.tensor([r["hard"] for r in rows])
    right = (pred == gold).float()
    return right.mean().item(), right[hard].mean().item() if hard.any() else None


def fine_tune(model_name, train, settings, device, seed, labels=LABELS):
    """Discard the pre-training head, add a classifier (one output per label), train every parameter."""
    seed_everything(seed)
    model, tokenizer = load_encoder(model_name, device=device, num_labels=len(labels),
                                    id2label=dict(enumerate(labels)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    steps = settings["epochs"] * -(-len(train) // settings["batch_size"])
    bar = tqdm(total=steps, desc="fine-tuning", mininterval=2)
    for _ in range(settings["epochs"]):
        order = torch.randperm(len(train), generator=generator).tolist()
        for start in range(0, len(order), settings["batch_size"]):
            rows = [train[i] for i in order[start:start + settings["batch_size"]]]
            batch = tokenizer([r["text"] for r in rows], return_tensors="pt", padding=True,
                              truncation=True, max_length=settings["max_length"]).to(device)
            gold = torch.tensor([labels.index(r["label"]) for r in rows], device=device)
            loss = F.cross_entropy(model(**batch).logits, gold)  # -log p(y | x), averaged
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model.eval(), tokenizer


@torch.no_grad()
def predict(model, tokenizer, texts, settings, device):
    out = []
    for start in range(0, len(texts), 64):
        batch = tokenizer(texts[start:start + 64], return_tensors="pt", padding=True, truncation=True,
                          max_length=settings["max_length"]).to(device)
        out.append(model(**batch).logits.argmax(-1).cpu())
    return torch.cat(out)


def main(args):
    settings = PRESETS[args.scale]
    seed_everything(args.seed)
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()
    if args.data is None:
        labels, descriptions = LABELS, [DESCRIPTIONS[label] for label in LABELS]
        data = read_jsonl("customer_sentiment.jsonl")
        train = [r for r in data if r["split"] == "train"]
        test = [r for r in data if r["split"] == "test"]
    else:  # your file (checked before any model loads); zero-shot compares with the label names
        splits, labels = text_classification(args.data, args.seed)
        labels = descriptions = list(labels)
        train, test = ([{"text": t, "label": labels[y], "hard": False} for t, y in zip(splits[s].texts, splits[s].labels)]
                       for s in ("train", "test"))

    encoder, tokenizer = load_encoder(args.model, device=device)
    encoder.eval()
    train_v = embed(encoder, tokenizer, [r["text"] for r in train], settings, device)
    test_v = embed(encoder, tokenizer, [r["text"] for r in test], settings, device)

    # --8<-- [start:idea]
    # 1. Zero-shot: which label description is each message closest to?
    described = embed(encoder, tokenizer, descriptions, settings, device)
    zero_shot = accuracy((test_v @ described.T).argmax(1), test, labels)

    # 2. Nearest centroid: one mean vector per class from the 480 training messages.
    train_y = torch.tensor([labels.index(r["label"]) for r in train])
    centroids = F.normalize(torch.stack([train_v[train_y == c].mean(0) for c in range(len(labels))]), dim=-1)
    centroid = accuracy((test_v @ centroids.T).argmax(1), test, labels)

    # 3. Fine-tuning: gradient steps on all 22.7 M parameters plus the new head.
    model, tokenizer = fine_tune(args.model, train, settings, device, args.seed, labels)
    tuned = accuracy(predict(model, tokenizer, [r["text"] for r in test], settings, device), test, labels)
    # --8<-- [end:idea]

    rows = [
        ["zero-shot: nearest label description", "none", "0", *zero_shot],
        ["nearest class centroid of frozen vectors", f"{len(train)} labelled messages, no gradient", "0", *centroid],
        [f"fine-tuned ({settings['epochs']} epochs, lr {settings['lr']})", f"{len(train)} labelled messages",
         f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}", *tuned],
    ]
    n_hard = sum(r["hard"] for r in test)
    print(f"{'method':44s} {'test acc':>9s} {'hard (' + str(n_hard) + ')':>10s}")
    for row in rows:
        print(f"{row[0]:44s} {row[3]:9.1%} " + (f"{row[4]:10.1%}" if row[4] is not None else f"{'-':>10s}"))
    results = ResultsWriter(args.out, "necessity_of_fine_tuning/frozen_vs_finetuned", args)
    results.table("methods", ["method", "labelled data used", "parameters changed", "test accuracy",
                              f"accuracy on the {n_hard} hard cases"], rows,
                  caption=f"all-MiniLM-L6-v2 on {len(test)} held-out customer messages (chance {1 / len(labels):.1%}).",
                  formats=["{}", "{}", "{}", "{:.1%}", "{:.1%}"])
    results.metric("zero_shot_accuracy", zero_shot[0], "{:.1%}")
    results.metric("centroid_accuracy", centroid[0], "{:.1%}")
    results.metric("finetuned_accuracy", tuned[0], "{:.1%}")
    results.metric("centroid_hard_accuracy", centroid[1], "{:.1%}")
    results.metric("finetuned_hard_accuracy", tuned[1], "{:.1%}")
    results.metric("gain_over_centroid", tuned[0] - centroid[0], "{:+.1%}")
    results.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set (no hard cases marked in yours)")
    run_main(main, parser)
