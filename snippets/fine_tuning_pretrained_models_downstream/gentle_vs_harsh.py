"""The standard recipe, run gently and harshly: fine-tuning should move the weights only a little.

Fine-tuning a pre-trained model for a downstream task is four moves: load the pre-trained
body, put a new task head on it, minimise the task loss -log p(y | x) on labelled
examples with a *small* learning rate, evaluate on held-out data. We run that recipe on
the 480 customer-sentiment training messages twice, changing only the learning rate:

* gentle: 1e-4, the usual size for a model of this kind;
* harsh: 3e-3, thirty times larger.

For each we measure test accuracy and how far each part of the network moved from its
pre-trained values, as the relative change ||theta - theta_0|| / ||theta_0||.

    python snippets/fine_tuning_pretrained_models_downstream/gentle_vs_harsh.py --scale ci
"""

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl
from fieldguide.user_data import add_data_flag, text_classification

PRESETS = {
    "ci": {"epochs": 1, "batch_size": 16, "max_length": 64, "learning_rates": {"gentle": 1e-4, "harsh": 3e-3}},
    "gpu": {"epochs": 4, "batch_size": 16, "max_length": 128, "learning_rates": {"gentle": 5e-5, "harsh": 3e-3}},
}
LABELS = ["negative", "neutral", "positive"]
PARTS = {  # parameter-name prefix -> part of the network
    "embeddings": "bert.embeddings.",
    "layers 0-2": ("bert.encoder.layer.0.", "bert.encoder.layer.1.", "bert.encoder.layer.2."),
    "layers 3-5": ("bert.encoder.layer.3.", "bert.encoder.layer.4.", "bert.encoder.layer.5."),
}


@torch.no_grad()
def evaluate(model, tokenizer, rows, settings, device, labels=LABELS):
    model.eval()
    right = 0
    for start in range(0, len(rows), 64):
        chunk = rows[start:start + 64]
        batch = tokenizer([r["text"] for r in chunk], return_tensors="pt", padding=True, truncation=True,
                          max_length=settings["max_length"]).to(device)
        gold = torch.tensor([labels.index(r["label"]) for r in chunk], device=device)
        right += (model(**batch).logits.argmax(-1) == gold).sum().item()
    model.train()
    return right / len(rows)


# --8<-- [start:idea]
def relative_change(model, start):
    """||theta - theta_0|| / ||theta_0|| over the parameters of each pre-trained part."""
    out = {}
    for part, prefix in PARTS.items():
        names = [n for n in start if n.startswith(prefix)]
        moved = sum((model.state_dict()[n].float() - start[n]).pow(2).sum() for n in names).sqrt()
        size = sum(start[n].pow(2).sum() for n in names).sqrt()
        out[part] = (moved / size).item()
    return out


def fine_tune(model_name, lr, train, test, settings, device, seed, labels=LABELS):
    seed_everything(seed)
    # Step 1-2: pre-trained body, pre-training head discarded, new head (one output per label).
    model, tokenizer = load_encoder(model_name, device=device, num_labels=len(labels),
                                    id2label=dict(enumerate(labels)))
    start = {n: p.detach().clone().float() for n, p in model.named_parameters() if n.startswith("bert.")}
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    # Step 3: minimise -log p(y | x) on the labelled examples.
    for epoch in range(settings["epochs"]):
        order = torch.randperm(len(train), generator=generator).tolist()
        for first in tqdm(range(0, len(order), settings["batch_size"]), desc=f"lr {lr:g} epoch {epoch + 1}",
                          mininterval=2):
            rows = [train[i] for i in order[first:first + settings["batch_size"]]]
            batch = tokenizer([r["text"] for r in rows], return_tensors="pt", padding=True,
                              truncation=True, max_length=settings["max_length"]).to(device)
            gold = torch.tensor([labels.index(r["label"]) for r in rows], device=device)
            loss = F.cross_entropy(model(**batch).logits, gold)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
    # Step 4: evaluate on held-out data.
    return evaluate(model, tokenizer, test, settings, device, labels), relative_change(model, start), losses
# --8<-- [end:idea]


def main(args):
    settings = PRESETS[args.scale]
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()
    if args.data is None:
        labels = LABELS
        data = read_jsonl("customer_sentiment.jsonl")
        train = [r for r in data if r["split"] == "train"]
        test = [r for r in data if r["split"] == "test"]
    else:  # your file (checked before any model loads): its train and test splits
        splits, labels = text_classification(args.data, args.seed)
        labels = list(labels)
        train, test = ([{"text": t, "label": labels[y]} for t, y in zip(splits[s].texts, splits[s].labels)]
                       for s in ("train", "test"))

    runs = {}
    for name, lr in settings["learning_rates"].items():
        runs[name] = (lr, *fine_tune(args.model, lr, train, test, settings, device, args.seed, labels))
        accuracy, moved, losses = runs[name][1:]
        shown = ", ".join(f"{part} {value:.2%}" for part, value in moved.items())
        print(f"{name:6s} (lr {lr:g}): test accuracy {accuracy:.1%}; weights moved: {shown}")

    results = ResultsWriter(args.out, "fine_tuning_pretrained_models_downstream/gentle_vs_harsh", args)
    rows = [[name, lr, accuracy, *moved.values()] for name, (lr, accuracy, moved, _) in runs.items()]
    results.table("runs", ["recipe", "learning rate", "test accuracy", *[f"change of {p}" for p in PARTS]], rows,
                  caption=f"{settings['epochs']} epoch(s) on {len(train)} messages; accuracy on {len(test)} "
                          f"held-out messages (chance {1 / len(labels):.1%}); change = ||θ − θ₀|| / ||θ₀||.",
                  formats=["{}", "{:g}", "{:.1%}", "{:.2%}", "{:.2%}", "{:.2%}"])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, (lr, _, _, losses) in runs.items():
        smooth = [sum(losses[max(0, i - 4):i + 1]) / len(losses[max(0, i - 4):i + 1]) for i in range(len(losses))]
        ax.plot(range(1, len(losses) + 1), smooth, label=f"{name} (lr {lr:g})")
    ax.axhline(torch.log(torch.tensor(float(len(labels)))).item(), color="grey", linestyle=":",
               label=f"log {len(labels)} (a uniform guess)")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (5-step mean)")
    ax.legend()
    results.figure("loss", fig, caption="Training loss of the same recipe with a small and a large learning rate.")
    gentle, harsh = runs["gentle"], runs["harsh"]
    results.metric("gentle_accuracy", gentle[1], "{:.1%}")
    results.metric("harsh_accuracy", harsh[1], "{:.1%}")
    results.metric("gentle_change_layers", max(v for k, v in gentle[2].items() if k.startswith("layers")), "{:.1%}")
    results.metric("harsh_change_layers", max(v for k, v in harsh[2].items() if k.startswith("layers")), "{:.1%}")
    results.metric("steps", len(gentle[3]))
    results.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
