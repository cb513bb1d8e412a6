"""Frozen all-MiniLM-L6-v2 body + linear heads: mean-pooled, [CLS] pooler, started from label sentences."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims

NAME = "freezing_encoder_parameters/frozen_encoder_linear_head"


def test_frozen_encoder_linear_head():
    run = run_snippet(NAME)
    accuracy, trainable = run.metric("accuracy"), run.metric("trainable")
    print(f"measured: mean-pooled accuracy {accuracy:.1%} (validation {run.metric('validation_accuracy'):.1%}), "
          f"macro-F1 {run.metric('macro_f1'):.3f}, trainable {trainable:,}, train {run.metric('train_seconds'):.1f} s, "
          f"run {run.seconds:.0f} s; [CLS] pooler accuracy {run.metric('cls_accuracy'):.1%} "
          f"(validation {run.metric('cls_validation_accuracy'):.1%})")
    # One linear head each on a frozen body; the readout decides how much of the frozen encoder's
    # knowledge a linear head can use (mean-pooled well ahead of the [CLS] pooler); the label
    # sentences alone are well above chance.
    assert_claims(run)
    readouts = {r["readout"]: r for r in run.table("readouts")}
    mean_row, cls_row, raw_row, named_row = (readouts[f"frozen encoder + {name}"] for name in (
        "linear head (mean-pooled)", "linear head ([CLS] through the untrained pooler)",
        "linear head ([CLS] vector, no pooler)", "head started from label sentences"))
    curve = run.table("curve")  # the label-efficiency curves of the mean-pooled and the named heads
    assert {r["approach"] for r in curve} == {mean_row["readout"], named_row["readout"]}

    def means(approach):
        rows = [r for r in curve if r["approach"] == approach]
        counts = sorted({r["training labels"] for r in rows})
        return {n: sum(r["test accuracy"] for r in rows if r["training labels"] == n) /
                sum(r["training labels"] == n for r in rows) for n in counts}

    mean_pooled, named = means(mean_row["readout"]), means(named_row["readout"])
    print("mean accuracy by label count, mean-pooled:", {n: f"{v:.1%}" for n, v in mean_pooled.items()},
          "started from label sentences:", {n: f"{v:.1%}" for n, v in named.items()})
    assert list(mean_pooled) == [8, 32, 128, 480] and list(named) == [0, 8, 32, 128, 480]
    assert sum(r["training labels"] == 8 for r in curve) >= 6  # several seeds for each head
    assert mean_pooled[8] < mean_pooled[32] < mean_pooled[128] <= mean_pooled[480] + 0.02  # more labels help
    assert mean_pooled[8] > 0.40  # even 8 labels beat chance (33 %); measured 47.8 % over 5 seeds
    assert mean_pooled[32] > 0.60  # measured 68.0 %
    # At every label count the mean-pooled readout beats the [CLS] one (measured 41 / 47 / 52 / 65 %).
    for n in (8, 32, 128, 480):
        assert mean_row[f"mean test accuracy, {n} labels"] > cls_row[f"mean test accuracy, {n} labels"]
    assert raw_row["trainable parameters"] == mean_row["trainable parameters"]  # the same head, no pooler
    # The label sentences: zero-shot well above chance (measured 61.3 %); from that start 8 labels give
    # 64.3 % against 47.8 % from a random start, 32 give 74.2 % against 68.0 %; with all 480 labels the
    # start no longer matters (82.1 % against 82.9 %). (Zero-shot: claim label_sentences_zero_shot.)
    # The label sentences are chosen by validation accuracy with no labels (measured: label words
    # 48.8 %, about the message 50.4 %, about the customer 57.5 %, in the customer's words 63.3 %).
    phrasings = {r["phrasing"]: r["validation accuracy, no labels"] for r in run.table("phrasings")}
    print("phrasings, validation accuracy with no labels:", {k: f"{v:.1%}" for k, v in phrasings.items()})
    assert min(phrasings, key=phrasings.get) == "label words"  # the page: bare label words were the worst
    assert named[8] > mean_pooled[8] + 0.10
    assert named[32] > mean_pooled[32]
    assert abs(named[480] - mean_pooled[480]) <= 0.03
    assert not any(p.name.endswith(".py") for p in (run.out / "model").iterdir())  # no model code shipped
    assert (run.out / "model" / "model.safetensors").is_file()


def test_saved_heads_reproduce_the_measured_accuracy():
    """use_saved_heads.py: the mean-pooled head by plain code and the [CLS] folder by a pipeline (no extra flags)."""
    import json

    from fieldguide.classification import LABELS

    frozen = run_snippet(NAME)
    config = json.loads((frozen.out / "model" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"] and "auto_map" not in config
    run = run_snippet("freezing_encoder_parameters/use_saved_heads")
    print(run.stdout)
    m = run.metric
    assert json.loads(m("id2label")) == {str(i): label for i, label in enumerate(LABELS)}
    # It read the cached run of the frozen snippet, and both heads reproduce what that run measured.
    assert m("mean_pooled_snippet_accuracy") == frozen.metric("accuracy")
    assert m("cls_pipeline_snippet_accuracy") == frozen.metric("cls_accuracy")
    assert abs(m("mean_pooled_accuracy") - frozen.metric("accuracy")) < 0.02
    assert abs(m("cls_pipeline_accuracy") - frozen.metric("cls_accuracy")) < 0.02


def test_use_saved_heads_rejects_a_folder_without_them(tmp_path):
    import subprocess
    import sys

    from fieldguide_site.execute import REPO

    result = subprocess.run([sys.executable, "snippets/freezing_encoder_parameters/use_saved_heads.py",
                             "--run", str(tmp_path), "--out", str(tmp_path / "out")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert "is not an --out folder" in result.stderr


