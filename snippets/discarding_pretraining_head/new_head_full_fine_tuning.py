"""Discard the pre-training head, put a new classification head on, and fine-tune every parameter.

all-MiniLM-L6-v2 was trained to produce sentence vectors (the masked mean of its last
hidden state, compared by cosine similarity); that objective gives no class scores, so a
new head goes on: one freshly initialised 384 x 3 linear layer reading the same mean vector
(``fieldguide.mean_pooled.MeanPooledClassifier``, the readout of every encoder strategy on
the site). Then all 22.6 M parameters are trained with AdamW, with 8, 32, 128 and all 480
labels. The model trained on all labels is saved as a sentence-transformers model (``model/``:
body, mean pooling, the head as a Dense layer; label names in its ``config.json``) and the head
alone (``mean_pooled_head.safetensors``):

    python snippets/discarding_pretraining_head/new_head_full_fine_tuning.py --scale ci --out runs/full
    python -c "from sentence_transformers import SentenceTransformer; print(SentenceTransformer('runs/full/model').encode(['Late again.']))"
"""

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from fieldguide import (ResultsWriter, load_encoder, model_folder, pick_device, run_main, seed_everything,
                        snippet_parser)
from fieldguide.classification import FINE_TUNING_PRESETS, epochs_for, label_efficiency, length_batches, predict, record
from fieldguide.mean_pooled import MeanPooledClassifier, save_mean_pooled
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = FINE_TUNING_PRESETS  # the site's one recipe, shared with the control and LoRA's loop: {scale: settings}


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
    writer = ResultsWriter(args.out, "discarding_pretraining_head/new_head_full_fine_tuning", args)

    # --8<-- [start:idea]
    def train(subset, seed):
        seed_everything(args.seed + seed)  # the new head's initial weights depend on it
        body, tokenizer = load_encoder(args.model, device)  # AutoModel: the pre-trained body, no head
        model = MeanPooledClassifier(body, len(labels)).to(device)  # the new head: one output per label
        assert all(p.requires_grad for p in model.parameters())  # full fine-tuning: nothing frozen
        fine_tune(model, tokenizer, subset, preset, seed=args.seed + seed, desc="full fine-tuning")
        return model, lambda texts: predict(model, tokenizer, texts, preset["max_length"])
    # --8<-- [end:idea]

    print(f"all-MiniLM-L6-v2, new head on the mean-pooled vector, full fine-tuning on {device}")
    headline, runs, model = label_efficiency("full fine-tuning (new head)", train, splits,
                                             preset["counts"], preset["seeds"], device, draw_seed=args.seed)
    record(writer, [headline], runs, n_test=len(splits["test"]))
    writer.metric("lr", preset["lr"], "{:g}")
    writer.metric("epochs", preset["epochs"])
    writer.metric("min_examples", preset["min_examples"])  # tiny label sets: at least this many example passes
    tokenizer = AutoTokenizer.from_pretrained(model_folder(args.model))
    saved = save_mean_pooled(model, tokenizer, args.out, labels, preset["max_length"])
    print(f"saved the classifier trained on all labels as model/ and {saved.name} in the --out folder")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
