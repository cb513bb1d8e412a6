"""The standard recipe, run gently and harshly: fine-tuning should move the weights only a little.

Fine-tuning a pre-trained model for a downstream task is four moves: load the pre-trained
body, put a new task head on it, minimise the task loss -log p(y | x) on labelled
examples with a *small* learning rate, evaluate on held-out data. We run that recipe on
the 480 customer-sentiment training messages twice, changing only the learning rate:

* gentle: the site's one recipe for full fine-tuning (``fieldguide.classification.FINE_TUNING_PRESETS``,
  3e-4 at ci, the rate chosen on validation on the strategies page), so the gentle run *is*
  the full fine-tuning run of the Discarding-the-Pre-training-Head page, with the same seed;
* harsh: thirty times larger, everything else the same (warm-up, decay, epochs, batches).

For each we measure test accuracy and how far each part of the network moved from its
pre-trained values, as the relative change ||theta - theta_0|| / ||theta_0||.

    python snippets/fine_tuning_pretrained_models_downstream/gentle_vs_harsh.py --scale ci
"""

import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import FINE_TUNING_PRESETS, accuracy, epochs_for, length_batches, predict
from fieldguide.mean_pooled import MeanPooledClassifier
from fieldguide.user_data import add_data_flag, classification_splits

HARSH_FACTOR = 30  # the harsh rate: thirty times the recipe's
PRESETS = FINE_TUNING_PRESETS  # the site's one recipe: {scale: settings}; only lr is changed below
PARTS = {  # parameter-name prefix -> part of the network
    "embeddings": "body.embeddings.",
    "layers 0-2": ("body.encoder.layer.0.", "body.encoder.layer.1.", "body.encoder.layer.2."),
    "layers 3-5": ("body.encoder.layer.3.", "body.encoder.layer.4.", "body.encoder.layer.5."),
}


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


def run_recipe(model_name, lr, splits, settings, device, seed, n_labels):
    seed_everything(seed)
    # Steps 1-2: the pre-trained body, and a new head (one output per label) on its mean-pooled vector.
    body, tokenizer = load_encoder(model_name, device)
    model = MeanPooledClassifier(body, n_labels).to(device)
    start = {n: p.detach().clone().float() for n, p in model.named_parameters() if n.startswith("body.")}
    # Step 3: minimise -log p(y | x) on the labelled examples (the loop above), at this learning rate.
    losses = fine_tune(model, tokenizer, splits["train"], {**settings, "lr": lr}, seed=seed, desc=f"lr {lr:g}")
    # Step 4: evaluate on held-out data.
    test = splits["test"]
    predicted = predict(model, tokenizer, test.texts, settings["max_length"])
    return accuracy(predicted, test.labels), relative_change(model, start), losses, predicted
# --8<-- [end:idea]


def main(args):
    settings = PRESETS[args.scale]
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    rates = {"gentle": settings["lr"], "harsh": HARSH_FACTOR * settings["lr"]}
    runs = {}
    for name, lr in rates.items():
        runs[name] = (lr, *run_recipe(args.model, lr, splits, settings, device, args.seed, len(labels)))
        accuracy_, moved, losses, _ = runs[name][1:]
        shown = ", ".join(f"{part} {value:.2%}" for part, value in moved.items())
        print(f"{name:6s} (lr {lr:g}): test accuracy {accuracy_:.1%}; weights moved: {shown}")

    results = ResultsWriter(args.out, "fine_tuning_pretrained_models_downstream/gentle_vs_harsh", args)
    train, test = splits["train"], splits["test"]
    rows = [[name, lr, acc, *moved.values()] for name, (lr, acc, moved, _, _) in runs.items()]
    results.table("runs", ["recipe", "learning rate", "test accuracy", *[f"change of {p}" for p in PARTS]], rows,
                  caption=f"{settings['epochs']} epochs on {len(train)} messages, warm-up then linear decay; "
                          f"accuracy on {len(test)} held-out messages (chance {1 / len(labels):.1%}); "
                          "change = ||θ − θ₀|| / ||θ₀||.",
                  formats=["{}", "{:g}", "{:.1%}", "{:.2%}", "{:.2%}", "{:.2%}"])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, (lr, _, _, losses, _) in runs.items():
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
    results.metric("gentle_lr", gentle[0], "{:g}")
    results.metric("harsh_lr", harsh[0], "{:g}")
    results.metric("harsh_factor", HARSH_FACTOR)
    harsh_predicted = harsh[4]  # the share of test messages given the harsh run's most frequent label
    results.metric("harsh_top_label_share", max(map(harsh_predicted.count, set(harsh_predicted))) / len(harsh_predicted),
                   "{:.0%}")
    results.metric("epochs", settings["epochs"])
    results.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
