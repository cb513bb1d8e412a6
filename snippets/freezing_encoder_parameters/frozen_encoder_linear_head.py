"""Frozen encoder + linear head: all-MiniLM-L6-v2's weights stay fixed; only a 3-way linear layer learns.

The encoder runs once over every message (no gradients) and each message becomes the
mean of its token vectors, the pooling this checkpoint was pre-trained with. A linear
layer (384 x 3 weights + 3 biases) is then trained on those vectors. Because the encoder
never changes, the vectors are computed once and reused for every label count and seed
of the label-efficiency curve.

    python snippets/freezing_encoder_parameters/frozen_encoder_linear_head.py --scale ci
"""

import torch

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import (LABELS, PeakMemory, label_efficiency, length_batches, record,
                                       save_mean_pooling_classifier, sentiment_splits)

PRESETS = {
    "ci": {"counts": [8, 32, 128, 480], "seeds": [0, 1, 2, 3, 4], "max_length": 64, "head_steps": 300,
           "l2": 1e-2},
    "gpu": {"counts": [8, 16, 32, 64, 128, 256, 480], "seeds": list(range(10)), "max_length": 128,
            "head_steps": 300, "l2": 1e-2},
}  # l2 chosen on the validation split (1e-4 .. 3e-2 tried)


@torch.no_grad()
def embed(encoder, tokenizer, texts, max_length):
    """One vector per text: the mean of its token vectors (padding left out)."""
    vectors = torch.zeros(len(texts), encoder.config.hidden_size)
    for indices, batch in length_batches(tokenizer, texts, 64, max_length):
        batch = batch.to(encoder.device)
        hidden = encoder(**batch).last_hidden_state
        mask = batch.attention_mask.unsqueeze(-1).to(hidden.dtype)
        vectors[indices] = ((hidden * mask).sum(1) / mask.sum(1)).cpu()
    return vectors


def train_head(features, labels, steps, l2, seed):
    """Logistic regression on the frozen features: a single linear layer, full-batch Adam, L2 penalty."""
    torch.manual_seed(seed)
    head = torch.nn.Linear(features.shape[1], len(LABELS))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    gold = torch.tensor(labels)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(head(features), gold) + l2 * head.weight.pow(2).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return head.eval()


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits = sentiment_splits()
    writer = ResultsWriter(args.out, "freezing_encoder_parameters/frozen_encoder_linear_head", args)
    with PeakMemory(device) as loading:
        encoder, tokenizer = load_encoder(args.model, device)
    encoder.requires_grad_(False)  # freeze every encoder parameter
    encoder.eval()
    cache = {}  # text -> vector: the frozen encoder gives the same vector every time

    def vectors(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, embed(encoder, tokenizer, missing, preset["max_length"])))
        return torch.stack([cache[t] for t in texts])

    def train(subset, seed):
        head = train_head(vectors(subset.texts), subset.labels, preset["head_steps"], preset["l2"], args.seed + seed)
        return head, lambda texts: head(vectors(texts)).argmax(-1).tolist()

    print(f"frozen all-MiniLM-L6-v2 + linear head on {device}; test split: {len(splits['test'])} messages")
    headline, runs, head = label_efficiency("frozen encoder + linear head", train, splits,
                                            preset["counts"], preset["seeds"], device)
    encoder_params = sum(p.numel() for p in encoder.parameters())
    headline.total += encoder_params  # the frozen encoder is part of the classifier
    headline.peak_mb += loading.peak_mb  # and its weights are part of the memory it needs
    record(writer, [headline], runs)
    writer.metric("frozen_params", encoder_params, "{:,}")

    # The frozen encoder + the head as one folder; it carries its (mean-pooling) model class.
    folder = save_mean_pooling_classifier(encoder, head, tokenizer, args.out / "model")
    print(f"saved in {folder}; load with pipeline('text-classification', model=..., trust_remote_code=True)")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    run_main(main, parser)
