"""Frozen encoder + a linear head: all-MiniLM-L6-v2's body stays fixed; four heads on it are compared.

The body (embeddings and all 6 layers) is frozen, so it runs once over every message (no
gradients) and its last-layer token vectors feed four 384 x 3 linear heads, each
trained on the stored features for every label count and seed:

- mean: the masked mean of the token vectors (padding left out), how this
  sentence-transformers checkpoint was pre-trained to be read. Its head is saved as plain
  tensors, ``mean_pooled_head.safetensors``, applied by plain code (below);
- cls: the first token ([CLS]) through the checkpoint's pooler (384 x 384 + tanh, frozen),
  the head of the standard ``BertForSequenceClassification``; it is saved as a standard
  folder that ``pipeline("text-classification", model=...)`` loads. This checkpoint's
  pooler was never trained (its bias is exactly zero; the run checks), so:
- cls_raw: the same [CLS] vector straight into the head, no pooler;
- named: the mean vector again (unit length), with the head started from one plain
  sentence per label encoded by the same body, and pulled back toward it while it
  trains. With no labels at all it is a zero-shot classifier (the label sentence
  nearest to the message wins); labels move it away from there only as far as they must.

    python snippets/freezing_encoder_parameters/frozen_encoder_linear_head.py --scale ci --out runs/frozen
    python snippets/freezing_encoder_parameters/use_saved_heads.py --run runs/frozen
"""

import copy

import torch
from safetensors.torch import save_file

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.classification import (LABELS, PeakMemory, Run, Stopwatch, accuracy, label_efficiency,
                                       length_batches, per_100, record, save_classifier, scores)
from fieldguide.mean_pooled import MeanPooledClassifier, save_mean_pooled
from fieldguide.user_data import add_data_flag, classification_splits

HEADS = {  # lr and l2 (penalty on the head's weights) of each head; "named": its start's scale
    "mean": {"lr": 1e-2, "l2": 1e-2}, "cls": {"lr": 1e-2, "l2": 1e-4}, "cls_raw": {"lr": 1e-2, "l2": 1e-3},
    "named": {"lr": 1e-2, "l2": 1e-3, "scale": 10.0},
}  # chosen on the validation split (lr 1e-3, 1e-2; l2 0 .. 3e-2; scale 10, 20, 40 tried)
PRESETS = {
    "ci": {"counts": [8, 32, 128, 480], "seeds": [0, 1, 2, 3, 4], "max_length": 64, "head_steps": 300, **HEADS},
    "gpu": {"counts": [8, 16, 32, 64, 128, 256, 480], "seeds": list(range(10)), "max_length": 128,
            "head_steps": 300, **HEADS},
}
READOUTS = {"mean": "frozen encoder + linear head (mean-pooled)",
            "cls": "frozen encoder + linear head ([CLS] through the untrained pooler)",
            "cls_raw": "frozen encoder + linear head ([CLS] vector, no pooler)",
            "named": "frozen encoder + head started from label sentences"}
# Phrasings of the labels, one sentence per label in the order of LABELS. The named head
# uses the one whose zero-shot accuracy on the validation split is highest.
LABEL_SENTENCE_CANDIDATES = {
    "label words": ["negative", "neutral", "positive"],
    "about the message": ["This is a negative message.", "This is a neutral message.", "This is a positive message."],
    "about the customer": ["An unhappy customer complaining about a bad experience.",
                           "A customer asking a question or giving plain information.",
                           "A happy customer praising a great experience."],
    "in the customer's words": ["I am unhappy, this is terrible.", "I have a question.", "I am happy, this is great."],
}


def label_sentence_candidates(labels):
    """The phrasings above for the customer-message labels; for other labels (--data), two from their names."""
    if tuple(labels) == LABELS:
        return LABEL_SENTENCE_CANDIDATES
    return {"label words": list(labels), "about the message": [f"This is a {label} message." for label in labels]}


# --8<-- [start:idea]
@torch.no_grad()
def frozen_features(model, tokenizer, texts, max_length):
    """One pass of the frozen body; two readouts of its last layer per text: mean-pooled and [CLS]."""
    mean = torch.zeros(len(texts), model.config.hidden_size)
    cls = torch.zeros(len(texts), model.config.hidden_size)
    for indices, batch in length_batches(tokenizer, texts, 64, max_length):
        batch = batch.to(model.device)
        hidden = model.bert(**batch).last_hidden_state           # (batch, tokens, 384)
        mask = batch.attention_mask.unsqueeze(-1).to(hidden.dtype)  # 1 for real tokens, 0 for padding
        mean[indices] = ((hidden * mask).sum(1) / mask.sum(1)).cpu()
        cls[indices] = hidden[:, 0].cpu()
    return {"mean": mean, "cls": cls}
# --8<-- [end:idea]


# --8<-- [start:head]
def make_head(model, readout, label_vectors=None, scale=None):
    """A new 384 x labels linear layer; behind the frozen pooler for [CLS]; started at the label sentences for named."""
    linear = torch.nn.Linear(model.config.hidden_size, model.config.num_labels)
    if readout == "named":  # logits = scale x cosine(message, label sentence), before any training
        with torch.no_grad():
            linear.weight.copy_(scale * label_vectors)
            linear.bias.zero_()
    if readout != "cls":
        return linear
    pooler = copy.deepcopy(model.bert.pooler.dense).cpu().requires_grad_(False)
    return torch.nn.Sequential(pooler, torch.nn.Tanh(), linear)


def train_head(head, features, labels, steps, lr, l2, anchored=False):
    """Logistic regression on the frozen features: full-batch Adam, L2 penalty on the trainable weights.

    The penalty pulls the weights toward zero, or (``anchored``) toward where they started.
    """
    trainable = [p for p in head.parameters() if p.requires_grad]
    anchors = [p.detach().clone() if anchored else torch.zeros_like(p) for p in trainable]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    gold = torch.tensor(labels)
    for _ in range(steps):
        penalty = sum((p - a).pow(2).sum() for p, a in zip(trainable, anchors) if p.dim() == 2)  # not biases
        loss = torch.nn.functional.cross_entropy(head(features), gold) + l2 * penalty
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return head.eval()
# --8<-- [end:head]


def classify(head, features):
    with torch.no_grad():
        return head(features).argmax(-1).tolist()


class FrozenEncoder:
    """The frozen model every head sits on: its vectors per text, computed once, and new heads."""

    def __init__(self, model, tokenizer, max_length, named_scale):
        self.model, self.tokenizer, self.max_length, self.named_scale = model, tokenizer, max_length, named_scale
        self.cache = {}  # text -> {readout: vector}: the frozen body gives the same vectors every time

    def vectors(self, texts, readout):
        """One row per text: its mean or [CLS] vector (unit length for the named head)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            features = frozen_features(self.model, self.tokenizer, missing, self.max_length)
            self.cache.update({t: {r: v[i] for r, v in features.items()} for i, t in enumerate(missing)})
        stacked = torch.stack([self.cache[t]["cls" if readout.startswith("cls") else "mean"] for t in texts])
        return torch.nn.functional.normalize(stacked, dim=-1) if readout == "named" else stacked

    def new_head(self, readout, label_sentences):
        """A new head for a readout; the named one starts from the vectors of the label sentences."""
        if readout != "named":
            return make_head(self.model, readout)
        label_vectors = self.vectors(label_sentences, "named")  # (3, 384): one per label
        return make_head(self.model, readout, label_vectors, self.named_scale)


def choose_label_sentences(writer, encoder, validation, labels):
    """The phrasing of the labels whose named head, with no training at all, does best on validation."""
    phrasings = [[name, " / ".join(sentences), accuracy(classify(encoder.new_head("named", sentences),
                 encoder.vectors(validation.texts, "named")), validation.labels)]
                 for name, sentences in label_sentence_candidates(labels).items()]
    chosen = max(phrasings, key=lambda row: row[2])[0]
    writer.table("phrasings", ["phrasing", f"label sentences ({' / '.join(labels)})",
                               "validation accuracy, no labels"], phrasings, formats=["{}", "{}", "{:.1%}"],
                 caption="Each phrasing as the named head's start, before any training; the best one is used.")
    writer.metric("phrasing", chosen)
    print(f"label sentences chosen on validation: {chosen} ({max(r[2] for r in phrasings):.1%} with no labels)")
    return label_sentence_candidates(labels)[chosen]


def trainer(encoder, readout, *, label_sentences, preset, base_seed):
    """The train(subset, seed) -> (head, predict) that label_efficiency calls, for one readout."""
    def train(subset, seed):
        torch.manual_seed(base_seed + seed)
        head = train_head(encoder.new_head(readout, label_sentences), encoder.vectors(subset.texts, readout),
                          subset.labels, preset["head_steps"], preset[readout]["lr"], preset[readout]["l2"],
                          anchored=readout == "named")
        return head, lambda texts: classify(head, encoder.vectors(texts, readout))
    return train


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    id2label = dict(enumerate(labels))
    writer = ResultsWriter(args.out, "freezing_encoder_parameters/frozen_encoder_linear_head", args)
    with PeakMemory(device) as loading:
        # The standard classifier: pre-trained body and pooler, a new classifier with one output per label.
        model, tokenizer = load_encoder(args.model, device, num_labels=len(labels), id2label=id2label)
    model.requires_grad_(False)  # freeze everything; the heads below are separate, small modules
    model.eval()
    encoder = FrozenEncoder(model, tokenizer, preset["max_length"], preset["named"]["scale"])

    # --8<-- [start:pooler]
    # Look inside the checkpoint before calling a layer pre-trained: a trained layer's bias moves
    # away from its zero start; an untrained one keeps it.
    pooler, last = model.bert.pooler.dense, model.bert.encoder.layer[-1].output.dense
    print(f"pooler: |bias| max {pooler.bias.abs().max():.3g}, weight std {pooler.weight.std():.4f}; "
          f"last layer's output: |bias| max {last.bias.abs().max():.3g}, weight std {last.weight.std():.4f}")
    # --8<-- [end:pooler]
    writer.metric("pooler_bias_abs_max", pooler.bias.abs().max().item(), "{:.3g}")
    writer.metric("pooler_weight_std", pooler.weight.std().item(), "{:.4f}")
    writer.metric("last_layer_bias_abs_max", last.bias.abs().max().item(), "{:.3g}")
    print(f"frozen all-MiniLM-L6-v2 body + a linear head, four heads, on {device}; "
          f"test split: {len(splits['test'])} messages")

    validation = splits["validation"]
    label_sentences = choose_label_sentences(writer, encoder, validation, labels)

    body_params = sum(p.numel() for p in model.bert.embeddings.parameters()) + \
        sum(p.numel() for p in model.bert.encoder.parameters())
    # The body's one forward pass over the messages, shared by every head; each head's costs include it.
    test = splits["test"]
    with PeakMemory(device) as encoding:
        with Stopwatch() as encode_train:
            encoder.vectors(splits["train"].texts, "mean")
        with Stopwatch() as encode_test:
            encoder.vectors(test.texts, "mean")
    results = {}
    for readout in READOUTS:
        train = trainer(encoder, readout, label_sentences=label_sentences, preset=preset, base_seed=args.seed)
        headline, runs, head = label_efficiency(READOUTS[readout], train, splits, preset["counts"], preset["seeds"],
                                                device, draw_seed=args.seed)
        headline.total += body_params  # the frozen body is part of the classifier
        headline.peak_mb += loading.peak_mb + encoding.peak_mb  # its weights and its forward pass
        headline.train_seconds += encode_train.seconds
        headline.infer_per_100 += per_100(encode_test.seconds, len(test))
        results[readout] = (headline, runs, head)

    # No labels at all: the named head as it starts, before any training (zero-shot).
    zero_shot = zero_shot_run(encoder, test, labels, label_sentences, named_headline=results["named"][0],
                              encode_seconds=encode_test.seconds)

    validation_accuracy = {readout: accuracy(classify(head, encoder.vectors(validation.texts, readout)),
                                             validation.labels) for readout, (_, _, head) in results.items()}
    summary(writer, results, zero_shot, validation_accuracy, labels=labels, label_sentences=label_sentences,
            body_params=body_params, counts=preset["counts"], n_train=len(splits["train"]), n_test=len(test))
    save(args.out, model, tokenizer, results, labels, id2label, preset["max_length"])
    writer.save()


def zero_shot_run(encoder, test, labels, label_sentences, *, named_headline, encode_seconds):
    """The untrained named head on the test split, with the named head's costs; prints its scores."""
    with Stopwatch() as clock:
        predicted = classify(encoder.new_head("named", label_sentences), encoder.vectors(test.texts, "named"))
    zero_shot = Run(READOUTS["named"], 0, 0, **scores(predicted, test.labels, len(labels)), trainable=0,
                    total=named_headline.total, peak_mb=named_headline.peak_mb,
                    infer_per_100=per_100(clock.seconds + encode_seconds, len(test)))
    print(f"  {READOUTS['named']}:   0 labels (zero-shot): accuracy {zero_shot.accuracy:.1%}, "
          f"macro-F1 {zero_shot.macro_f1:.3f}")
    return zero_shot


def summary(writer, results, zero_shot, validation_accuracy, *, labels, label_sentences, body_params, counts,
            n_train, n_test):
    """Record the metrics and tables the pages read, and print the headline."""
    # The mean-pooled readout is this page's "frozen encoder + linear head" (the decision page reads it).
    headline, runs, _ = results["mean"]
    named_headline, named_runs, _ = results["named"]
    record(writer, [headline, named_headline, zero_shot], runs + named_runs + [zero_shot], n_test=n_test)
    writer.metric("named_accuracy", named_headline.accuracy, "{:.1%}")
    writer.metric("zero_shot_accuracy", zero_shot.accuracy, "{:.1%}")
    writer.metric("zero_shot_macro_f1", zero_shot.macro_f1, "{:.3f}")
    writer.metric("label_sentences", " / ".join(f'{label}: "{sentence}"' for label, sentence
                                                 in zip(labels, label_sentences)))
    writer.metric("frozen_params", body_params, "{:,}")
    cls_headline = results["cls"][0]
    writer.metric("cls_accuracy", cls_headline.accuracy, "{:.1%}")
    writer.metric("cls_macro_f1", cls_headline.macro_f1, "{:.3f}")
    writer.metric("cls_trainable", cls_headline.trainable, "{:,}")
    writer.metric("cls_total_params", cls_headline.total, "{:,}")
    writer.metric("readout_gap_points", 100 * (headline.accuracy - cls_headline.accuracy), "{:.1f}")
    raw_headline = results["cls_raw"][0]
    writer.metric("cls_raw_accuracy", raw_headline.accuracy, "{:.1%}")
    writer.metric("mean_minus_cls_raw_points", 100 * (headline.accuracy - raw_headline.accuracy), "{:.1f}")
    writer.metric("pooler_cost_points", 100 * (raw_headline.accuracy - cls_headline.accuracy), "{:.1f}")
    rows = []
    counts = [n for n in counts if n < n_train] + [n_train]  # the label counts that ran
    for readout, (h, r, head) in results.items():
        val = validation_accuracy[readout]
        writer.metric(("" if readout == "mean" else f"{readout}_") + "validation_accuracy", val, "{:.1%}")
        means = [sum(x.accuracy for x in r if x.n_labels == n) / sum(x.n_labels == n for x in r)
                 for n in counts]
        rows.append([READOUTS[readout], h.trainable, val, h.accuracy, h.macro_f1, *means])
    writer.table("readouts", ["readout", "trainable parameters", "validation accuracy", "test accuracy",
                              "macro-F1", *[f"mean test accuracy, {n} labels" for n in counts]],
                 rows, formats=["{}", "{:,}", "{:.1%}", "{:.1%}", "{:.3f}"] + ["{:.1%}"] * len(counts),
                 caption=f"The same frozen body, the same size of linear head (384 x {len(labels)}), read in two places "
                         "(mean, [CLS] with or without the untrained pooler) or started from the label sentences: "
                         "all training labels (first "
                         "seed), then the mean over seeds per label count.")
    print(f"all labels: mean-pooled {headline.accuracy:.1%} (macro-F1 {headline.macro_f1:.3f}), "
          f"[CLS] pooler {cls_headline.accuracy:.1%} (macro-F1 {cls_headline.macro_f1:.3f}), "
          f"[CLS] without pooler {raw_headline.accuracy:.1%}, "
          f"started from label sentences {named_headline.accuracy:.1%} (zero-shot {zero_shot.accuracy:.1%})")


def save(out, model, tokenizer, results, labels, id2label, max_length):
    """The heads, each in a form a project loads without this package."""
    mean_head, cls_head = results["mean"][2], results["cls"][2]
    # The mean-pooled head: two plain tensors, applied by plain code to the frozen body's mean vector.
    path = out / "mean_pooled_head.safetensors"
    save_file({"weight": mean_head.weight.detach().contiguous(), "bias": mean_head.bias.detach().contiguous()},
              str(path), metadata={"labels": ",".join(labels), "readout": "masked mean of last_hidden_state",
                                   "max_length": str(max_length), "encoder": "model/ (frozen body)"})
    # The [CLS] head goes back into the standard classifier, saved as a standard folder.
    model.classifier.load_state_dict(cls_head[2].state_dict())
    folder = save_classifier(model, tokenizer, out / "model", id2label)
    # The mean-pooled classifier whole, as a sentence-transformers model (frozen body, mean pooling, head).
    classifier = MeanPooledClassifier(copy.deepcopy(model.bert), len(labels))
    classifier.head.load_state_dict(mean_head.state_dict())
    save_mean_pooled(classifier, tokenizer, out / "mean_pooled", labels, max_length)
    print(f"saved {path.name} (mean-pooled head), {folder.name}/ ([CLS] classifier; load with "
          f"pipeline('text-classification', model=...)) and mean_pooled/model/ (the mean-pooled classifier; "
          f"load with sentence_transformers.SentenceTransformer) in the --out folder")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
