"""LoRA on all-MiniLM-L6-v2: the encoder's weights stay frozen; low-rank updates to attention learn.

As in full fine-tuning, a new 3-way head reads the mean-pooled vector
(``fieldguide.mean_pooled.MeanPooledClassifier``). peft then freezes the whole model and
adds, beside each query and value projection, a rank-8 update B·A (A: 8 x 384, B: 384 x 8,
B starting at zero so training starts from the pre-trained model). The new head is trained
in full (``modules_to_save``). For saving, the updates are merged into the weights, which
gives back a plain body (``model/``, a standard Hugging Face folder) and the head
(``mean_pooled_head.safetensors``), with no peft needed to load them:

    python snippets/fine_tuning_sequence_encoding_models/lora_encoder.py --scale ci --out runs/lora
"""

import torch
from tqdm.auto import tqdm
from peft import LoraConfig, get_peft_model
from transformers import AutoTokenizer

from fieldguide import (ResultsWriter, load_encoder, model_folder, pick_device, run_main, seed_everything,
                        snippet_parser)
from fieldguide.classification import FINE_TUNING_PRESETS, epochs_for, label_efficiency, length_batches, predict, record
from fieldguide.mean_pooled import MeanPooledClassifier, save_mean_pooled
from fieldguide.user_data import add_data_flag, classification_splits

# The site's one recipe (the presets of full fine-tuning) with LoRA's own learning rate: ci 3e-3, the
# rate the strategies page chose on validation for LoRA r=8 with this readout (from 1e-3, 3e-3, 1e-2).
PRESETS = {"ci": {**FINE_TUNING_PRESETS["ci"], "lr": 3e-3, "r": 8},
           "gpu": {**FINE_TUNING_PRESETS["gpu"], "lr": 5e-4, "r": 8}}


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
    writer = ResultsWriter(args.out, "fine_tuning_sequence_encoding_models/lora_encoder", args)
    # --8<-- [start:idea]
    config = LoraConfig(
        r=preset["r"], lora_alpha=2 * preset["r"], lora_dropout=0.1,
        target_modules=["query", "value"],  # the attention projections of every layer
        modules_to_save=["head"],           # the new head: trained in full
    )

    def train(subset, seed):
        seed_everything(args.seed + seed)
        body, tokenizer = load_encoder(args.model, device)  # AutoModel: the pre-trained body, no head
        model = MeanPooledClassifier(body, len(labels)).to(device)  # the new head, as in full fine-tuning
        model = get_peft_model(model, config)  # freezes the base model, adds the LoRA matrices
        fine_tune(model, tokenizer, subset, preset, seed=args.seed + seed, desc="LoRA")
        return model, lambda texts: predict(model, tokenizer, texts, preset["max_length"])
    # --8<-- [end:idea]

    print(f"all-MiniLM-L6-v2 + LoRA r={preset['r']} on query/value, on {device}")
    headline, runs, model = label_efficiency(f"LoRA r={preset['r']} (new head)", train, splits,
                                             preset["counts"], preset["seeds"], device, draw_seed=args.seed)
    record(writer, [headline], runs, n_test=len(splits["test"]))
    writer.metric("lr", preset["lr"], "{:g}")
    merged = model.merge_and_unload()  # W + B·A folded in: a plain model, no peft needed to load it
    saved = save_mean_pooled(merged, AutoTokenizer.from_pretrained(model_folder(args.model)), args.out, labels,
                             preset["max_length"])
    print(f"saved the merged classifier trained on all labels as model/ and {saved.name} in the --out folder")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
