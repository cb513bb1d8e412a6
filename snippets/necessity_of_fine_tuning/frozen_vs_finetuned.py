"""Does a pre-trained encoder need fine-tuning for sentiment, or are its vectors enough?

all-MiniLM-L6-v2 was trained to place texts with similar *meaning* close together, not to
separate positive from negative. We classify the customer-sentiment test split three ways
and compare accuracy, overall and on the hard cases (sarcasm, thanks around a complaint):

1. zero-shot: nearest of three label descriptions ("a happy, satisfied customer...");
2. nearest centroid: the average training vector of each class, no gradient step;
3. fine-tuned: a new 3-way head on the mean-pooled vector, and the whole model trained on
   the 480 training messages with the site's one recipe (``FINE_TUNING_PRESETS``): the same
   run, with the same seed, as full fine-tuning on the Discarding-the-Pre-training-Head page.

    python snippets/necessity_of_fine_tuning/frozen_vs_finetuned.py --scale ci
"""

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import FINE_TUNING_PRESETS, epochs_for, length_batches, predict
from fieldguide.mean_pooled import MeanPooledClassifier
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = FINE_TUNING_PRESETS  # the site's one recipe for the fine-tuned arm: {scale: settings}
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


def accuracy(pred, split):
    """(accuracy, accuracy on the hard cases; None where the data marks none)."""
    gold = torch.tensor(split.labels)
    hard = torch.tensor(split.hard)
    right = (torch.as_tensor(pred) == gold).float()
    return right.mean().item(), right[hard].mean().item() if hard.any() else None


# --8<-- [start:loop]
def fine_tune(model, tokenizer, train, settings, seed, desc="fine-tuning"):
    """A plain PyTorch loop: cross-entropy on the head's logits, AdamW on whatever requires grad.

    Every encoder fine-tuning on the site runs this same loop (a test keeps the copies
    identical); what differs is which parameters require gradients.
    ``settings``: lr, warmup (share of the steps), batch_size, max_length, epochs, min_examples.
    """
    device = next(model.parameters()).device
    batch_size, max_length = settings["batch_size"], settings["max_length"]
    epochs = epochs_for(len(train), settings["epochs"], settings["min_examples"])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings["lr"],
                                  weight_decay=0.01)
    steps = epochs * -(-len(train) // batch_size)
    warmup = max(1, round(settings["warmup"] * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up to lr, then linear decay to 0
        optimizer, lambda step: (step + 1) / warmup if step < warmup else (steps - step) / (steps - warmup))
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()  # dropout on
    with tqdm(total=steps, desc=f"{desc}, {len(train)} labels", leave=False) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(train), generator=generator).tolist()
            for indices, batch in length_batches(tokenizer, train.texts, batch_size, max_length, order):
                gold = torch.tensor([train.labels[i] for i in indices], device=device)
                logits = model(**batch.to(device)).logits
                loss = torch.nn.functional.cross_entropy(logits, gold)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                losses.append(loss.item())
                bar.update(1)
    model.eval()
    return losses
# --8<-- [end:loop]


def main(args):
    settings = PRESETS[args.scale]
    seed_everything(args.seed)
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    train, test = splits["train"], splits["test"]
    # zero-shot compares with a description per label; with your --data, with the label names
    descriptions = [DESCRIPTIONS[label] for label in labels] if set(labels) == set(DESCRIPTIONS) else list(labels)

    encoder, tokenizer = load_encoder(args.model, device=device)
    encoder.eval()
    train_v = embed(encoder, tokenizer, train.texts, settings, device)
    test_v = embed(encoder, tokenizer, test.texts, settings, device)

    # --8<-- [start:idea]
    # 1. Zero-shot: which label description is each message closest to?
    described = embed(encoder, tokenizer, descriptions, settings, device)
    zero_shot = accuracy((test_v @ described.T).argmax(1), test)

    # 2. Nearest centroid: one mean vector per class from the 480 training messages.
    train_y = torch.tensor(train.labels)
    centroids = F.normalize(torch.stack([train_v[train_y == c].mean(0) for c in range(len(labels))]), dim=-1)
    centroid = accuracy((test_v @ centroids.T).argmax(1), test)

    # 3. Fine-tuning: a new head on the mean-pooled vector; gradient steps on all 22.6 M parameters.
    seed_everything(args.seed)  # the new head starts as in the full fine-tuning run of the head page
    body, tokenizer = load_encoder(args.model, device=device)
    model = MeanPooledClassifier(body, len(labels)).to(device)
    fine_tune(model, tokenizer, train, settings, seed=args.seed, desc="full fine-tuning")
    tuned = accuracy(predict(model, tokenizer, test.texts, settings["max_length"]), test)
    # --8<-- [end:idea]

    rows = [
        ["zero-shot: nearest label description", "none", "0", *zero_shot],
        ["nearest class centroid of frozen vectors", f"{len(train)} labelled messages, no gradient", "0", *centroid],
        [f"fine-tuned ({settings['epochs']} epochs, lr {settings['lr']:g})", f"{len(train)} labelled messages",
         f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}", *tuned],
    ]
    n_hard = sum(test.hard)
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
