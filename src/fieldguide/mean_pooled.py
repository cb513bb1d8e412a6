"""The site's one encoder readout, and how a model trained with it is saved and loaded again.

Every encoder strategy on the site (a frozen body with a linear head, full fine-tuning,
LoRA, IA3, top layers, the random-init control) reads the encoder the same way: the
attention-masked mean of its last hidden state, the vector all-MiniLM-L6-v2 was trained
to produce, into one new linear layer. Comparing strategies then compares what they
train, not where they read the encoder (the [CLS] readout is measured on its own, on the
strategies page).

A trained classifier is saved so that a project loads it without this package:

* ``model/`` is a sentence-transformers model (the layout all-MiniLM-L6-v2 itself ships in): the
  body (safetensors, its ``config.json`` naming the labels in ``id2label``), mean pooling, and the
  head as a ``Dense`` layer with no activation, so ``SentenceTransformer("DIR/model").encode(texts)``
  returns the classifier's logits; ``AutoModel.from_pretrained("DIR/model")`` reads the body alone;
* ``mean_pooled_head.safetensors`` holds the head again (a weight and a bias, with the label names
  and the tokenizer's ``max_length`` in its metadata), for ``load_mean_pooled`` and plain torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from fieldguide.errors import FieldGuideError

HEAD_FILE = "mean_pooled_head.safetensors"


# --8<-- [start:readout]
class MeanPooledClassifier(torch.nn.Module):
    """The masked mean of the body's last hidden state, then one new linear layer (one output per label)."""

    def __init__(self, body, n_labels):
        super().__init__()
        body.pooler = None  # BERT's [CLS] pooler: this readout does not use it, so it is not trained or counted
        self.body = body
        self.head = torch.nn.Linear(body.config.hidden_size, n_labels)  # freshly initialised

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state  # (batch, tokens, 384)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # 1 for real tokens, 0 for padding
        return SequenceClassifierOutput(logits=self.head((hidden * mask).sum(1) / mask.sum(1)))
# --8<-- [end:readout]


def save_mean_pooled(model: MeanPooledClassifier, tokenizer, out: Path | str, labels, max_length: int) -> Path:
    """Write ``out/model/`` (a sentence-transformers classifier) and ``out/mean_pooled_head.safetensors``
    (the head); returns the head file."""
    from safetensors.torch import save_file

    out, body_dir = Path(out), Path(out) / "model"
    weight, bias = model.head.weight.detach().cpu().contiguous(), model.head.bias.detach().cpu().contiguous()
    model.body.config.id2label = dict(enumerate(labels))  # the label names travel with the body
    model.body.config.label2id = {label: i for i, label in enumerate(labels)}
    model.body.save_pretrained(body_dir)
    tokenizer.save_pretrained(body_dir)
    write_sentence_transformers_modules(body_dir, weight, bias, max_length)
    path = out / HEAD_FILE
    save_file({"weight": weight, "bias": bias}, str(path),
              metadata={"labels": ",".join(labels), "readout": "masked mean of last_hidden_state",
                        "max_length": str(max_length), "encoder": "model/"})
    return path


def write_sentence_transformers_modules(folder: Path, weight, bias, max_length: int) -> None:
    """The files that make a saved body a sentence-transformers model: body, mean pooling, then the
    head as a Dense layer without activation (written in the format the hub's models use, which
    every sentence-transformers version reads; the library itself is not needed to write it)."""
    from safetensors.torch import save_file

    def write(path, data):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))

    write(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}])
    write(folder / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False})
    write(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": weight.shape[1], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    write(folder / "2_Dense" / "config.json", {
        "in_features": weight.shape[1], "out_features": weight.shape[0], "bias": True,
        "activation_function": "torch.nn.modules.linear.Identity"})
    save_file({"linear.weight": weight, "linear.bias": bias}, str(folder / "2_Dense" / "model.safetensors"))


def load_mean_pooled(run_folder: Path | str, device="cpu"):
    """(classifier, tokenizer, labels, max_length) from a folder ``save_mean_pooled`` wrote."""
    from safetensors import safe_open
    from transformers import AutoModel, AutoTokenizer

    run_folder = Path(run_folder)
    path = run_folder / HEAD_FILE
    if not path.is_file() or not (run_folder / "model").is_dir():
        raise FieldGuideError(f"{run_folder} holds no {HEAD_FILE} and model/ (written by save_mean_pooled)")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    if "labels" not in metadata or "max_length" not in metadata:
        raise FieldGuideError(f"{path} has no labels or max_length in its metadata")
    labels = metadata["labels"].split(",")
    try:  # BERT-like bodies: no pooler to load (the readout does not use it)
        body = AutoModel.from_pretrained(run_folder / "model", add_pooling_layer=False, use_safetensors=True)
    except TypeError:  # a body without that option
        body = AutoModel.from_pretrained(run_folder / "model", use_safetensors=True)
    model = MeanPooledClassifier(body, len(labels))
    model.head.load_state_dict(tensors)
    return model.to(device).eval(), AutoTokenizer.from_pretrained(run_folder / "model"), labels, \
        int(metadata["max_length"])
