"""Fine-tuning strategies on one task: one readout, one recipe, a tuned learning rate for every arm.

all-MiniLM-L6-v2 classifies customer messages (negative / neutral / positive). Every arm reads
the encoder the same way, the attention-masked mean of its last hidden state (the vector this
sentence-transformers checkpoint was trained to produce) into one new linear layer, and
trains with the same labels, epochs, batch size, AdamW and schedule. What differs is which
parameters learn:

- linear probe: the head only, the body frozen;
- top 2 layers: the last two of the six transformer layers and the head;
- LoRA (peft): rank-8 updates beside every query and value projection, and the head;
- IA3 (peft): a learned vector rescaling every key, value and feed-forward activation, and the head;
- full fine-tuning: every parameter;
- control: the same architecture and tokenizer from random weights (AutoConfig +
  AutoModel.from_config), every parameter trained: what the pre-trained weights contribute.

Each arm's learning rate is chosen from its own small grid on the validation split; the test
split scores only the chosen one. A last run changes one thing, the readout: full fine-tuning at
its chosen rate, read through [CLS] and BERT's pooler as BertForSequenceClassification reads it.

    python snippets/fine_tuning_strategies/strategies_on_one_task.py --scale ci --out runs/strategies
"""

import copy
import time

import torch
from peft import IA3Config, LoraConfig, get_peft_model
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel
from transformers.modeling_outputs import SequenceClassifierOutput

from fieldguide import ResultsWriter, load_encoder, model_folder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import Stopwatch, label_subset, length_batches, parameter_counts, scores
from fieldguide.mean_pooled import MeanPooledClassifier  # the masked mean of the last hidden state + one linear layer
from fieldguide.user_data import add_data_flag, classification_splits

# --8<-- [start:grid]
# key: (name in the table, learning rates tried, a factor ~3 apart). First runs with lower grids for top 2,
# LoRA, IA3 and full fine-tuning chose the top value of each; those grids moved up (IA3's twice).
ARMS = {
    "probe": ("linear probe (body frozen)", [3e-3, 1e-2, 3e-2]),
    "top2": ("top 2 layers + head", [3e-4, 1e-3, 3e-3]),
    "lora": ("LoRA r=8 on query, value + head", [1e-3, 3e-3, 1e-2]),
    "ia3": ("IA3 on key, value, feed-forward + head", [1e-2, 3e-2, 1e-1]),
    "full": ("full fine-tuning", [1e-4, 3e-4, 1e-3]),
    "random": ("random init, full training (control)", [1e-4, 3e-4, 1e-3]),
}
RECIPE = {"epochs": 2, "batch_size": 16, "warmup": 0.1, "weight_decay": 0.01}  # shared by every arm
PRESETS = {
    # ci: 240 of the 480 training labels (80 per class) so that six arms x three rates fit the
    # time budget on 2 CPU cores; max_length 64 keeps every token of 99 % of the messages.
    "ci": {"n_labels": 240, "max_length": 64, **RECIPE},
    "gpu": {"n_labels": 480, "max_length": 128, **RECIPE, "epochs": 5},
}
# --8<-- [end:grid]


# --8<-- [start:idea]
def build(arm, body, n_labels):
    """The same classifier for every arm; the arm decides which parameters require gradients."""
    model = MeanPooledClassifier(body, n_labels)
    if arm == "probe":
        model.body.requires_grad_(False)
    elif arm == "top2":
        model.body.requires_grad_(False)
        model.body.encoder.layer[-2:].requires_grad_(True)
    elif arm == "lora":  # get_peft_model freezes everything but the adapters...
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1,
                                                 target_modules=["query", "value"]))
    elif arm == "ia3":  # (IA)^3: scale keys and values, and the input of each layer's second FFN matrix
        ffn = r".*layer\.\d+\.output\.dense"
        model = get_peft_model(model, IA3Config(target_modules=rf".*\.(key|value)|{ffn}", feedforward_modules=ffn))
    if arm in ("lora", "ia3"):
        model.head.requires_grad_(True)  # ...so the new head is made trainable again
    return model  # full fine-tuning and the random-init control: everything trains
# --8<-- [end:idea]


class ClsPooledClassifier(MeanPooledClassifier):
    """The readout check only: [CLS] through BERT's pre-trained pooler (dense + tanh), as the [CLS]
    runs elsewhere on the site read it; the same body, the same new head, everything trainable."""

    def __init__(self, body, pooler, n_labels):
        super().__init__(body, n_labels)
        self.pooler = pooler

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        return SequenceClassifierOutput(logits=self.head(self.pooler(hidden)))  # the pooler reads hidden[:, 0], [CLS]


# --8<-- [start:loop]
def train(model, tokenizer, split, settings, lr, seed, desc):
    """The shared recipe: cross-entropy, AdamW on whatever requires grad, warm-up then linear decay."""
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr,
                                  weight_decay=settings["weight_decay"])
    steps = settings["epochs"] * -(-len(split) // settings["batch_size"])
    warmup = max(1, round(settings["warmup"] * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: (step + 1) / warmup if step < warmup else (steps - step) / (steps - warmup))
    generator = torch.Generator().manual_seed(seed)  # the same batches, in the same order, for every arm
    model.train()  # dropout on
    if not any(p.requires_grad for p in model.body.parameters()):
        model.body.eval()  # linear probe: the frozen body gives the vectors it gives at inference
    with tqdm(total=steps, desc=desc, leave=False) as bar:
        for _ in range(settings["epochs"]):
            order = torch.randperm(len(split), generator=generator).tolist()
            for indices, batch in length_batches(tokenizer, split.texts, settings["batch_size"],
                                                 settings["max_length"], order):
                gold = torch.tensor([split.labels[i] for i in indices], device=device)
                loss = torch.nn.functional.cross_entropy(model(**batch.to(device)).logits, gold)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.update(1)
    model.eval()
# --8<-- [end:loop]


@torch.no_grad()
def predict(model, tokenizer, texts, max_length):
    device = next(model.parameters()).device
    predicted = [0] * len(texts)
    for indices, batch in length_batches(tokenizer, texts, 64, max_length):
        for i, p in zip(indices, model(**batch.to(device)).logits.argmax(-1).tolist()):
            predicted[i] = p
    return predicted


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    full_train, validation, test = splits["train"], splits["validation"], splits["test"]
    n_labels = min(preset["n_labels"], len(full_train))
    subset = full_train if n_labels == len(full_train) else label_subset(full_train, n_labels, args.seed)
    pretrained, tokenizer = load_encoder(args.model, device)  # AutoModel: the body alone, no head
    pooler, pretrained.pooler = pretrained.pooler, None  # no arm reads the [CLS] pooler: not counted
    config = AutoConfig.from_pretrained(model_folder(args.model))  # the control's architecture
    writer = ResultsWriter(args.out, "fine_tuning_strategies/strategies_on_one_task", args)
    print(f"all-MiniLM-L6-v2, mean-pooled readout, {len(subset)} training labels, {preset['epochs']} epochs, "
          f"on {device}; validation {len(validation)}, test {len(test)} messages")

    started = time.perf_counter()
    results, grid_rows = {}, []
    for arm, (name, grid) in ARMS.items():
        best = None
        for lr in grid:
            seed_everything(args.seed)  # every arm and rate: the same new head, the same control weights
            if arm == "random":
                body = AutoModel.from_config(config, add_pooling_layer=False)  # random weights
            else:
                body = copy.deepcopy(pretrained)
            model = build(arm, body, len(labels)).to(device)
            with Stopwatch() as clock:
                train(model, tokenizer, subset, preset, lr, args.seed, f"{arm}, lr {lr:g}")
            val = scores(predict(model, tokenizer, validation.texts, preset["max_length"]), validation.labels,
                         len(labels))
            grid_rows.append([name, lr, val["accuracy"], val["macro_f1"], clock.seconds])
            print(f"  {name}: lr {lr:g}: validation accuracy {val['accuracy']:.1%} ({clock.seconds:.1f} s)",
                  flush=True)
            if best is None or val["accuracy"] > best["val"]["accuracy"]:  # ties keep the lower rate
                best = {"lr": lr, "model": model, "val": val, "seconds": clock.seconds}
        chosen = best.pop("model")
        trainable, total = parameter_counts(chosen)  # counted: requires_grad, numel
        tested = scores(predict(chosen, tokenizer, test.texts, preset["max_length"]), test.labels, len(labels))
        results[arm] = {**best, **tested, "trainable": trainable, "total": total, "share": trainable / total}
        print(f"{name}: chosen lr {best['lr']:g}; test accuracy {tested['accuracy']:.1%}, macro-F1 "
              f"{tested['macro_f1']:.3f}; trainable {trainable:,} of {total:,} ({trainable / total:.3%})", flush=True)

    # The readout check: full fine-tuning at its chosen rate again, one thing changed, read through [CLS].
    seed_everything(args.seed)
    model = ClsPooledClassifier(copy.deepcopy(pretrained), copy.deepcopy(pooler), len(labels)).to(device)
    train(model, tokenizer, subset, preset, results["full"]["lr"], args.seed, "full, [CLS] readout")
    cls = scores(predict(model, tokenizer, test.texts, preset["max_length"]), test.labels, len(labels))
    print(f"full fine-tuning read through [CLS] + pooler instead, lr {results['full']['lr']:g}: test accuracy "
          f"{cls['accuracy']:.1%}, macro-F1 {cls['macro_f1']:.3f} (mean-pooled: {results['full']['accuracy']:.1%})")
    writer.metric("full_cls_accuracy", cls["accuracy"], "{:.1%}")
    writer.metric("full_cls_macro_f1", cls["macro_f1"], "{:.3f}")
    writer.metric("full_mean_minus_cls_points", 100 * (results["full"]["accuracy"] - cls["accuracy"]), "{:.1f}")
    record(writer, results, grid_rows, len(subset), len(test), preset, time.perf_counter() - started)
    plot(writer, results, len(labels))
    writer.save()


def record(writer, results, grid_rows, n_labels, n_test, preset, seconds):
    rows = [[ARMS[arm][0], r["trainable"], r["share"], r["lr"], r["val"]["accuracy"], r["accuracy"], r["macro_f1"],
             r["seconds"]] for arm, r in results.items()]
    writer.table("strategies", ["strategy", "trainable parameters", "share of the model", "chosen lr",
                                "validation accuracy", "test accuracy", "test macro-F1", "training seconds"],
                 rows, formats=["{}", "{:,}", "{:.3%}", "{:g}", "{:.1%}", "{:.1%}", "{:.3f}", "{:.1f}"],
                 caption=f"One readout (masked mean + linear layer), {n_labels} training labels, {preset['epochs']} "
                         f"epochs, batch {preset['batch_size']}, AdamW, warm-up then linear decay; the lr chosen "
                         f"on validation from each arm's grid; test split ({n_test} messages). Trainable "
                         "parameters counted (requires_grad); training seconds of the chosen run on the machine "
                         "that built this page.")
    writer.table("grid", ["strategy", "lr", "validation accuracy", "validation macro-F1", "training seconds"],
                 grid_rows, formats=["{}", "{:g}", "{:.1%}", "{:.3f}", "{:.1f}"],
                 caption="Every learning rate tried, scored on the validation split (the test split is not used "
                         "to choose).")
    for arm, r in results.items():
        writer.metric(f"{arm}_accuracy", r["accuracy"], "{:.1%}")
        writer.metric(f"{arm}_macro_f1", r["macro_f1"], "{:.3f}")
        writer.metric(f"{arm}_val_accuracy", r["val"]["accuracy"], "{:.1%}")
        writer.metric(f"{arm}_trainable", r["trainable"], "{:,}")
        writer.metric(f"{arm}_total", r["total"], "{:,}")
        writer.metric(f"{arm}_share", r["share"], "{:.3%}")
        writer.metric(f"{arm}_lr", r["lr"], "{:g}")
        writer.metric(f"{arm}_seconds", r["seconds"], "{:.1f} s")
        grid = ARMS[arm][1]
        writer.metric(f"{arm}_lr_at_edge", r["lr"] in (grid[0], grid[-1]))
    pretrained = [arm for arm in results if arm != "random"]
    best = max(pretrained, key=lambda arm: results[arm]["accuracy"])
    worst = min(pretrained, key=lambda arm: results[arm]["accuracy"])
    writer.metric("best_arm", ARMS[best][0])
    writer.metric("best_pretrained_accuracy", results[best]["accuracy"], "{:.1%}")
    writer.metric("worst_pretrained_accuracy", results[worst]["accuracy"], "{:.1%}")
    writer.metric("pretrained_spread_points", 100 * (results[best]["accuracy"] - results[worst]["accuracy"]), "{:.1f}")
    writer.metric("control_gap_points", 100 * (results[worst]["accuracy"] - results["random"]["accuracy"]), "{:.1f}")
    adapted = [results[arm]["accuracy"] for arm in ("top2", "lora", "ia3", "full")]  # the body adapts
    writer.metric("adapted_spread_points", 100 * (max(adapted) - min(adapted)), "{:.1f}")
    writer.metric("probe_below_adapted_points", 100 * (min(adapted) - results["probe"]["accuracy"]), "{:.1f}")
    writer.metric("full_minus_probe_points", 100 * (results["full"]["accuracy"] - results["probe"]["accuracy"]),
                  "{:.1f}")
    writer.metric("n_labels", n_labels)
    writer.metric("epochs", preset["epochs"])
    writer.metric("runs", len(grid_rows))
    writer.metric("total_seconds", seconds, "{:.0f} s")


def plot(writer, results, n_classes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.6, 3.6), layout="constrained")
    for arm, r in results.items():
        control = arm == "random"
        ax.plot(r["share"], r["accuracy"], "s" if control else "o", color="#c62828" if control else "#2e7d32")
        ax.annotate(ARMS[arm][0].split(" (")[0].replace(" + head", ""), (r["share"], r["accuracy"]),
                    textcoords="offset points", xytext=(6, -3 if control else 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(right=3)
    ax.set_xlabel("share of the model's parameters trained (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.axhline(1 / n_classes, color="grey", lw=0.8, ls=":")
    writer.figure("accuracy_vs_share", fig, caption="Test accuracy against the share of parameters each arm "
                                                     "trains; green: pre-trained weights, red: the random-init "
                                                     "control; dotted: chance (one in as many as there are labels).")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
