"""What "fine-tuning" can mean: the same training step, different sets of trainable weights.

The introductory treatment of fine-tuning is the plain one: every parameter of the
pre-trained model (plus a new head) is updated by gradient descent on labelled examples.
The variants met later change only *which* parameters move. We take all-MiniLM-L6-v2 with
a new 3-way sentiment head and, for each scope, measure on one real training step:

* how many parameters are trainable, and the memory their gradients plus AdamW's two
  moment estimates need (3 floats per trainable parameter);
* the wall-clock time of a forward + backward + update on a batch of 16 messages.

    python snippets/scope_of_introductory_fine_tuning/what_gets_trained.py --scale ci

Your own labelled texts: ``--data FILE`` (CSV, TSV or JSONL with ``text`` and ``label``): the
head gets one output per label of yours and the timed step runs on a batch of your training
texts (their lengths set its cost).
"""

import statistics
import time

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers.utils import logging as hf_logging

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = {
    "ci": {"batch_size": 16, "timed_steps": 5},
    "gpu": {"batch_size": 64, "timed_steps": 20},
}
LABELS = ["negative", "neutral", "positive"]
LORA_RANK = 8


# --8<-- [start:idea]
def scoped_model(model_name, scope, device, n_labels=len(LABELS)):
    """A fresh MiniLM + new head, with only the parameters of ``scope`` left trainable."""
    model, _ = load_encoder(model_name, num_labels=n_labels)
    if scope == "full fine-tuning":
        pass  # everything trains
    elif scope == "top 2 layers + head":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith(("classifier", "bert.pooler", "bert.encoder.layer.4.",
                                               "bert.encoder.layer.5."))
    elif scope == "head only (frozen encoder)":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("classifier")
    elif scope == f"LoRA r={LORA_RANK} on query, value + head":
        # W stays frozen; each adapted d_out x d_in matrix gets B (d_out x r) A (r x d_in).
        config = LoraConfig(r=LORA_RANK, lora_alpha=16, target_modules=["query", "value"],
                            modules_to_save=["classifier"])
        model = get_peft_model(model, config)
    return model.to(device)
# --8<-- [end:idea]


def lora_formula(model, n_labels=len(LABELS)):
    """r * (d_in + d_out) for every adapted Linear of a plain model, plus the new head."""
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in ("query", "value"):
            total += LORA_RANK * (module.in_features + module.out_features)
    return total + n_labels * 384 + n_labels  # classifier: 384 x labels weights + a bias per label


# --8<-- [start:step]
def time_steps(model, batch, labels, n):
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    seconds = []
    for step in range(n + 1):
        started = time.perf_counter()
        loss = F.cross_entropy(model(**batch).logits, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step pays one-off costs (allocations); leave it out
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)
# --8<-- [end:step]


def main(args):
    settings = PRESETS[args.scale]
    device = pick_device(args.device)
    hf_logging.set_verbosity_error()
    if args.data is None:
        rows_data = [r for r in read_jsonl("customer_sentiment.jsonl")
                     if r["split"] == "train"][: settings["batch_size"]]
        texts, gold, names = [r["text"] for r in rows_data], [LABELS.index(r["label"]) for r in rows_data], LABELS
    else:  # your file, checked in full before any model loads: a batch of its train split, its labels
        splits, names = classification_splits(args.data, args.seed)
        texts, gold = splits["train"].texts[: settings["batch_size"]], splits["train"].labels[: settings["batch_size"]]
    _, tokenizer = load_encoder(args.model)
    batch = tokenizer(texts, return_tensors="pt", padding=True).to(device)
    labels = torch.tensor(gold, device=device)

    scopes = ["full fine-tuning", "top 2 layers + head", "head only (frozen encoder)",
              f"LoRA r={LORA_RANK} on query, value + head"]
    rows, found, total = [], {}, 0
    found["lora_formula"] = lora_formula(load_encoder(args.model, num_labels=len(names))[0], len(names))
    for scope in scopes:
        seed_everything(args.seed)
        model = scoped_model(args.model, scope, device, len(names))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = total or trainable  # the full model's size, from the first (full) scope
        seconds = time_steps(model, batch, labels, settings["timed_steps"])
        state_mb = trainable * 3 * 4 / 2**20  # gradient + 2 AdamW moments, fp32
        found[scope] = (trainable, seconds)
        rows.append([scope, trainable, trainable / total, state_mb, seconds * 1000])
        print(f"{scope:36s} trainable {trainable:>11,d} ({trainable / total:7.3%})  "
              f"grad+optimizer state {state_mb:7.2f} MB  step {seconds * 1000:6.0f} ms")

    results = ResultsWriter(args.out, "scope_of_introductory_fine_tuning/what_gets_trained", args)
    results.table("scopes", ["what is trained", "trainable parameters", "share of the model",
                             "gradient + AdamW state (MB)", f"one step, batch {settings['batch_size']} (ms)"],
                  rows, caption=f"all-MiniLM-L6-v2 + a {len(names)}-way head; step times measured on {device}.",
                  formats=["{}", "{:,}", "{:.3%}", "{:.2f}", "{:.0f}"])
    full, head = found["full fine-tuning"], found["head only (frozen encoder)"]
    lora = found[f"LoRA r={LORA_RANK} on query, value + head"]
    results.metric("full_trainable", full[0], "{:,}")
    results.metric("head_trainable", head[0], "{:,}")
    results.metric("lora_trainable", lora[0], "{:,}")
    results.metric("lora_formula", found["lora_formula"], "{:,}")
    results.metric("lora_share", lora[0] / full[0], "{:.2%}")
    results.metric("full_step_ms", full[1] * 1000, "{:.0f}")
    results.metric("head_step_ms", head[1] * 1000, "{:.0f}")
    results.metric("head_speedup", full[1] / head[1], "{:.1f}")
    results.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set (the head gets one output per label of "
                  "yours; the timed step runs on the first batch of your train split)")
    run_main(main, parser)
