"""Issue 27 §1: every encoder classifier a snippet saves loads with the ecosystem's own library.

Every mean-pooled classifier (fine-tuned, LoRA-merged, the random-init control, the frozen body
with its head) is saved by ``fieldguide.mean_pooled.save_mean_pooled`` as a sentence-transformers
model (body, mean pooling, the head as a Dense layer); the frozen [CLS] classifier as a
transformers sequence classifier (tested with ``pipeline`` on its own page). Here each
saved folder is loaded in a process where ``fieldguide`` cannot be imported, as a reader's project
would load it, and must give the run's own predictions, with the label names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fieldguide.classification import sentiment_splits
from fieldguide.mean_pooled import load_mean_pooled
from fieldguide_site.execute import cached_check, run_snippet
from reader_scripts import LOAD_WITHOUT_FIELDGUIDE

# snippet -> the folder (in its --out) that save_mean_pooled wrote
SAVERS = {"discarding_pretraining_head/new_head_full_fine_tuning": ".",
          "fine_tuning_sequence_encoding_models/lora_encoder": ".",
          "transfer_knowledge_to_downstream_tasks/random_init_control": ".",
          "freezing_encoder_parameters/frozen_encoder_linear_head": "mean_pooled"}

@pytest.mark.parametrize("name", SAVERS)
def test_saved_classifier_loads_with_sentence_transformers_and_predicts_as_the_run(name):
    saved = run_snippet(name).out / SAVERS[name]

    def compute():  # once per run key of the snippet and this file (an unchanged re-run costs nothing)
        texts = sentiment_splits()["test"].texts[:16]
        model, tokenizer, labels, max_length = load_mean_pooled(saved)
        with torch.no_grad():
            batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            ours = model(**{k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}).logits
        done = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_FIELDGUIDE, str(saved / "model"), json.dumps(texts)],
                              capture_output=True, text=True, timeout=300)
        return {"exit": done.returncode, "stderr": done.stderr[-3000:], "labels": list(labels),
                "ours": ours.tolist(), "theirs": json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None}

    data = cached_check(name, compute, LOAD_WITHOUT_FIELDGUIDE, Path(__file__).read_text(encoding="utf-8"))
    assert data["exit"] == 0, data["stderr"]
    theirs, ours, labels = data["theirs"], torch.tensor(data["ours"]), data["labels"]
    gap = (torch.tensor(theirs["logits"]) - ours).abs().max().item()
    print(f"{name}: sentence-transformers gives the run's logits within {gap:.1e}; labels {theirs['labels']}")
    assert theirs["labels"] == labels
    assert theirs["predicted"] == [labels[i] for i in ours.argmax(-1)]
    assert gap < 1e-4
