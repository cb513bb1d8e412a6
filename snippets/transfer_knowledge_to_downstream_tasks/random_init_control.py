"""The control: the same architecture as all-MiniLM-L6-v2, randomly initialised, trained the same way.

Same configuration (6 layers, 384 wide, 22.6 M parameters), same tokenizer, same
mean-pooled readout and new head, same loop, learning rate, epochs and label counts as full
fine-tuning on the pre-trained checkpoint; the only difference is that no pre-trained
weight is loaded. The
gap between the two is what pre-training contributes.

    python snippets/transfer_knowledge_to_downstream_tasks/random_init_control.py --scale ci
"""

import torch
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel, AutoTokenizer

from fieldguide import ResultsWriter, model_folder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import FINE_TUNING_PRESETS, epochs_for, label_efficiency, length_batches, predict, record
from fieldguide.mean_pooled import MeanPooledClassifier, save_mean_pooled
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = FINE_TUNING_PRESETS  # the very presets of full fine-tuning: {scale: settings}


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
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    writer = ResultsWriter(args.out, "transfer_knowledge_to_downstream_tasks/random_init_control", args)
    # --8<-- [start:idea]
    folder = model_folder(args.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder)  # the architecture only: no pre-trained weight is read

    def train(subset, seed):
        seed_everything(args.seed + seed)
        body = AutoModel.from_config(config, add_pooling_layer=False)  # random weights
        model = MeanPooledClassifier(body, len(labels)).to(device)  # the same readout and new head
        fine_tune(model, tokenizer, subset, preset, seed=args.seed + seed, desc="random init")
        return model, lambda texts: predict(model, tokenizer, texts, preset["max_length"])
    # --8<-- [end:idea]

    print(f"randomly initialised {config.num_hidden_layers}-layer BERT (MiniLM-L6 shape), on {device}")
    headline, runs, model = label_efficiency("random-init control (same training)", train, splits,
                                             preset["counts"], preset["seeds"], device)
    record(writer, [headline], runs, n_test=len(splits["test"]))
    below = {}  # mean accuracy at each label count below all of them
    for r in runs:
        if r.n_labels < headline.n_labels:
            below.setdefault(r.n_labels, []).append(r.accuracy)
    writer.metric("below_all_mean_max", max(sum(v) / len(v) for v in below.values()), "{:.1%}")
    for n, values in sorted(below.items()):
        writer.metric(f"mean_at_{n}", sum(values) / len(values), "{:.1%}")
    writer.metric("chance", 1 / len(labels), "{:.0%}")  # for a test split balanced over the labels
    writer.metric("lr", preset["lr"], "{:g}")
    saved = save_mean_pooled(model, tokenizer, args.out, labels, preset["max_length"])
    print(f"saved the control trained on all labels as model/ and {saved.name} in the --out folder")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
