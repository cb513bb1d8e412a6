"""The control: the same architecture as all-MiniLM-L6-v2, randomly initialised, trained the same way.

Same configuration (6 layers, 384 wide, 22.6 M parameters), same tokenizer, same
mean-pooled readout and new head, same loop, learning rate, epochs and label counts as full
fine-tuning on the pre-trained checkpoint; the only difference is that no pre-trained
weight is loaded. The
gap between the two is what pre-training contributes.

A transformer trained from scratch on a few hundred sentences is a weak learner, so the run
also trains the classic baseline that needs no pre-training either: TF-IDF word features and
logistic regression, on the same label draws, tested on the same messages.

    python snippets/transfer_knowledge_to_downstream_tasks/random_init_control.py --scale ci
"""

import re

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel, AutoTokenizer

from fieldguide import ResultsWriter, model_folder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import FINE_TUNING_PRESETS, epochs_for, label_efficiency, length_batches, predict, record
from fieldguide.mean_pooled import MeanPooledClassifier, save_mean_pooled
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = FINE_TUNING_PRESETS  # the very presets of full fine-tuning: {scale: settings}
TFIDF = {"l2": 1e-4, "lr": 0.1, "steps": 300}  # l2 chosen on the validation split (0 .. 1e-2 tried)


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


# --8<-- [start:baseline]
def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def tfidf_logistic_regression(subset, n_labels, l2, lr, steps):
    """Bag of words: each word's count, weighted by its rarity (TF-IDF), then logistic regression.

    Vocabulary, word weights and classifier come from the training labels alone.
    """
    vocabulary = {w: i for i, w in enumerate(sorted({w for text in subset.texts for w in words(text)}))}

    def counts(texts):
        x = torch.zeros(len(texts), len(vocabulary))
        for row, text in enumerate(texts):
            for w in words(text):
                if w in vocabulary:  # words never seen in training carry no weight
                    x[row, vocabulary[w]] += 1
        return x

    seen = counts(subset.texts)
    idf = torch.log((1 + len(subset.texts)) / (1 + (seen > 0).sum(0))) + 1  # rare words weigh more
    features = lambda texts: F.normalize(counts(texts) * idf, dim=-1)  # noqa: E731
    head = torch.nn.Linear(len(vocabulary), n_labels)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    x, gold = features(subset.texts), torch.tensor(subset.labels)
    for _ in range(steps):  # full batch: a few hundred rows
        loss = F.cross_entropy(head(x), gold) + l2 * head.weight.pow(2).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    @torch.no_grad()
    def classify(texts):
        return head(features(texts)).argmax(-1).tolist()
    return head, classify
# --8<-- [end:baseline]


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
                                             preset["counts"], preset["seeds"], device, draw_seed=args.seed)

    def bag_of_words(subset, seed):
        torch.manual_seed(args.seed + seed)
        return tfidf_logistic_regression(subset, len(labels), **TFIDF)

    bow_headline, bow_runs, _ = label_efficiency("TF-IDF + logistic regression (no pre-training)", bag_of_words,
                                                 splits, preset["counts"], preset["seeds"], device, draw_seed=args.seed)
    record(writer, [headline, bow_headline], runs + bow_runs, n_test=len(splits["test"]))
    summary(writer, headline, runs, bow_headline, bow_runs)
    writer.metric("chance", 1 / len(labels), "{:.0%}")  # for a test split balanced over the labels
    writer.metric("bow_vocabulary", bow_headline.trainable // len(labels) - 1, "{:,}")
    writer.metric("lr", preset["lr"], "{:g}")
    saved = save_mean_pooled(model, tokenizer, args.out, labels, preset["max_length"])
    print(f"saved the control trained on all labels as model/ and {saved.name} in the --out folder")
    writer.save()


def summary(writer, headline, runs, bow_headline, bow_runs):
    """Means per label count below all labels, and the two no-pre-training learners paired seed by seed."""
    def below(arm_runs):  # {n: {seed: accuracy}} at each label count below all of them
        points = {}
        for r in arm_runs:
            if r.n_labels < headline.n_labels:
                points.setdefault(r.n_labels, {})[r.seed] = r.accuracy
        return points
    control, bow = below(runs), below(bow_runs)
    writer.metric("below_all_mean_max", max(sum(v.values()) / len(v) for v in control.values()), "{:.1%}")
    for n in sorted(control):
        writer.metric(f"mean_at_{n}", sum(control[n].values()) / len(control[n]), "{:.1%}")
        writer.metric(f"bow_mean_at_{n}", sum(bow[n].values()) / len(bow[n]), "{:.1%}")
        differences = [bow[n][s] - control[n][s] for s in control[n]]  # the same label draw
        writer.metric(f"bow_minus_control_min_at_{n}", min(differences), "{:+.1%}")
        writer.metric(f"bow_minus_control_max_at_{n}", max(differences), "{:+.1%}")
    writer.metric("bow_accuracy", bow_headline.accuracy, "{:.1%}")
    writer.metric("bow_minus_control_all", bow_headline.accuracy - headline.accuracy, "{:+.1%}")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
