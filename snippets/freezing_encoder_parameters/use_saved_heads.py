"""Use what the frozen-encoder snippet saved: its mean-pooled head with plain code, its [CLS] folder with a pipeline.

The frozen-encoder snippet writes, in its ``--out`` folder, ``mean_pooled_head.safetensors``
(two tensors: a 3 x 384 weight and a bias) and ``model/`` (a standard
BertForSequenceClassification folder whose encoder is the untouched pre-trained body).
This script loads both the way a project would, classifies a few new messages, and checks
each against the snippet's own test accuracy.

    python snippets/freezing_encoder_parameters/frozen_encoder_linear_head.py --scale ci --out runs/frozen
    python snippets/freezing_encoder_parameters/use_saved_heads.py --run runs/frozen

Without ``--run`` it reads ``--sources DIR`` (``DIR/freezing_encoder_parameters/
frozen_encoder_linear_head/``), or, with neither, runs the frozen-encoder snippet beside it
into ``<out>/sources/``.
"""

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer, pipeline

from fieldguide import FieldGuideError, ResultsWriter, pick_device, run_main, snippet_parser
from fieldguide.classification import LABELS, accuracy, sentiment_splits
from fieldguide.sources import source_runs

PRESETS = {"ci": {"batch_size": 64}, "gpu": {"batch_size": 256}}  # only how many messages go through at once
FROZEN = "freezing_encoder_parameters/frozen_encoder_linear_head"
MESSAGES = ["Do you ship to Norway?", "Still no refund after three weeks.", "The new app update is lovely."]


# --8<-- [start:idea]
def mean_pooled_classifier(run_folder, device):
    """The frozen body (``model/``'s encoder) + the saved head, applied by plain code."""
    path = Path(run_folder) / "mean_pooled_head.safetensors"
    head = {name: t.to(device) for name, t in load_file(str(path)).items()}  # weight (3, 384), bias (3,)
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if "max_length" not in metadata:
        raise FieldGuideError(f"{path} has no max_length in its metadata: was it saved by {FROZEN}.py?")
    max_length = int(metadata["max_length"])
    encoder = AutoModel.from_pretrained(Path(run_folder) / "model").to(device).eval()  # the body; its head is unused
    tokenizer = AutoTokenizer.from_pretrained(Path(run_folder) / "model")

    @torch.no_grad()
    def classify(texts):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
        hidden = encoder(**batch).last_hidden_state                 # (messages, tokens, 384)
        mask = batch["attention_mask"].unsqueeze(-1).float()         # padding left out of the mean
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return (pooled @ head["weight"].T + head["bias"]).argmax(-1).tolist()  # indices into LABELS
    return classify
# --8<-- [end:idea]


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    run_folder = Path(args.run) if args.run is not None else source_runs([FROZEN], args, __file__)[FROZEN].out
    if not (run_folder / "mean_pooled_head.safetensors").is_file() or not (run_folder / "model").is_dir():
        raise FieldGuideError(f"{run_folder} is not an --out folder of {FROZEN}.py "
                              "(no mean_pooled_head.safetensors and model/ in it)")
    writer = ResultsWriter(args.out, "freezing_encoder_parameters/use_saved_heads", args)

    # --8<-- [start:pipeline]
    mean_pooled = mean_pooled_classifier(run_folder, device)
    cls_pipeline = pipeline("text-classification", model=str(run_folder / "model"), device=device)  # no extra flags
    for text, m, c in zip(MESSAGES, mean_pooled(MESSAGES), cls_pipeline(MESSAGES)):
        print(f"{text!r}: mean-pooled head says {LABELS[m]}, [CLS] pipeline says {c['label']} ({c['score']:.2f})")
    # --8<-- [end:pipeline]

    # Both reproduce the snippet's own test accuracy: what was saved is what was measured.
    test = sentiment_splits()["test"]
    batches = [test.texts[i:i + preset["batch_size"]] for i in range(0, len(test), preset["batch_size"])]
    mean_predicted = [p for batch in batches for p in mean_pooled(batch)]
    cls_predicted = [LABELS.index(o["label"]) for o in cls_pipeline(test.texts, batch_size=preset["batch_size"])]
    measured = json.loads((run_folder / "results.json").read_text())["metrics"] if \
        (run_folder / "results.json").is_file() else {}
    for key, predicted, snippet_key in (("mean_pooled", mean_predicted, "accuracy"),
                                        ("cls_pipeline", cls_predicted, "cls_accuracy")):
        writer.metric(f"{key}_accuracy", accuracy(predicted, test.labels), "{:.1%}")
        if snippet_key in measured:
            writer.metric(f"{key}_snippet_accuracy", measured[snippet_key]["value"], "{:.1%}")
    writer.metric("id2label", json.dumps(cls_pipeline.model.config.id2label))
    print(f"test accuracy ({len(test)} messages): mean-pooled head {accuracy(mean_predicted, test.labels):.1%}, "
          f"[CLS] pipeline {accuracy(cls_predicted, test.labels):.1%} (the frozen-encoder snippet measured "
          f"{measured.get('accuracy', {}).get('text', '?')} and {measured.get('cls_accuracy', {}).get('text', '?')})")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    parser.add_argument("--run", type=Path, default=None,
                        help=f"an --out folder of {FROZEN}.py (default: from --sources, else run it)")
    parser.add_argument("--sources", type=Path, default=None,
                        help=f"folder holding {FROZEN}/, that snippet's --out folder")
    run_main(main, parser)
