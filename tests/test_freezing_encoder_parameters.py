"""Frozen all-MiniLM-L6-v2 body + a linear head, read out two ways: mean-pooled and [CLS] pooler."""

from fieldguide.execute import run_snippet

NAME = "freezing_encoder_parameters/frozen_encoder_linear_head"


def test_frozen_encoder_linear_head():
    run = run_snippet(NAME)
    print(run.stdout)
    accuracy, trainable = run.metric("accuracy"), run.metric("trainable")
    print(f"measured: mean-pooled accuracy {accuracy:.1%} (validation {run.metric('validation_accuracy'):.1%}), "
          f"macro-F1 {run.metric('macro_f1'):.3f}, trainable {trainable:,}, train {run.metric('train_seconds'):.1f} s, "
          f"run {run.seconds:.0f} s; [CLS] pooler accuracy {run.metric('cls_accuracy'):.1%} "
          f"(validation {run.metric('cls_validation_accuracy'):.1%})")
    assert trainable == run.metric("cls_trainable") == 384 * 3 + 3  # one linear head each; body frozen
    assert run.metric("frozen_params") > 22_000_000
    assert run.metric("total_params") == run.metric("frozen_params") + trainable
    assert run.metric("cls_total_params") == run.metric("frozen_params") + 384 * 384 + 384 + trainable
    # Measured at ci scale: mean-pooled 82.9 % (validation 84.2 %), [CLS] pooler 64.6 % (72.5 %).
    # The readout decides how much of the frozen encoder's knowledge a linear head can use.
    assert accuracy >= 0.78, "the mean-pooled frozen features should separate most of the sentiment"
    assert 0.55 <= run.metric("cls_accuracy") < 0.75, "the [CLS] pooler readout is weaker, well above chance"
    assert run.metric("readout_gap_points") >= 12  # measured 18.3 points
    assert run.metric("validation_accuracy") > run.metric("cls_validation_accuracy") + 0.05  # 84.2 vs 72.5 %
    readouts = run.table("readouts")
    assert [r["test accuracy"] for r in readouts] == [accuracy, run.metric("cls_accuracy")]
    curve = run.table("curve")  # the mean-pooled readout's label-efficiency curve
    assert {r["approach"] for r in curve} == {"frozen encoder + linear head (mean-pooled)"}
    assert {r["training labels"] for r in curve} == {8, 32, 128, 480}
    assert sum(r["training labels"] == 8 for r in curve) >= 3  # several seeds
    means = {n: sum(r["test accuracy"] for r in curve if r["training labels"] == n) /
             sum(r["training labels"] == n for r in curve) for n in (8, 32, 128, 480)}
    print("mean accuracy by label count:", {n: f"{v:.1%}" for n, v in means.items()})
    assert means[8] < means[32] < means[128] <= means[480] + 0.02  # more labels help
    assert means[8] > 0.40  # even 8 labels beat chance (33 %); measured 47.8 % over 5 seeds
    assert means[32] > 0.60  # measured 68.0 %
    # At every label count the mean-pooled readout beats the [CLS] one (measured 41 / 47 / 52 / 65 %).
    for row in readouts[1:]:
        for n in (8, 32, 128, 480):
            assert readouts[0][f"mean test accuracy, {n} labels"] > row[f"mean test accuracy, {n} labels"]
    assert not any(p.name.endswith(".py") for p in (run.out / "model").iterdir())  # no model code shipped
    assert (run.out / "model" / "model.safetensors").is_file()


def test_mean_pooled_head_applies_with_plain_code():
    """The saved head is two plain tensors; the frozen body is the saved folder's encoder, unchanged."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from fieldguide.classification import LABELS, accuracy, sentiment_splits

    run = run_snippet(NAME)
    path = run.out / "mean_pooled_head.safetensors"
    head = load_file(str(path))
    assert set(head) == {"weight", "bias"} and tuple(head["weight"].shape) == (len(LABELS), 384)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert meta["labels"].split(",") == list(LABELS)
    encoder = AutoModel.from_pretrained(str(run.out / "model")).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(run.out / "model"))
    test = sentiment_splits()["test"]
    predicted = []
    with torch.no_grad():
        for start in range(0, len(test), 64):
            batch = tokenizer(test.texts[start:start + 64], padding=True, truncation=True,
                              max_length=int(meta["max_length"]), return_tensors="pt")
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            predicted += (pooled @ head["weight"].T + head["bias"]).argmax(-1).tolist()
    print(f"plain-code accuracy of the mean-pooled head: {accuracy(predicted, test.labels):.1%} "
          f"(snippet: {run.metric('accuracy'):.1%})")
    assert abs(accuracy(predicted, test.labels) - run.metric("accuracy")) < 0.02


def test_saved_frozen_classifier_loads_in_a_pipeline():
    """The [CLS] readout is the standard BertForSequenceClassification; the pipeline reproduces it."""
    import json

    from transformers import pipeline

    from fieldguide.classification import LABELS, accuracy, sentiment_splits

    run = run_snippet(NAME)
    config = json.loads((run.out / "model" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"] and "auto_map" not in config
    classify = pipeline("text-classification", model=str(run.out / "model"), device="cpu")  # no extra flags
    assert classify.model.config.id2label == dict(enumerate(LABELS))
    test = sentiment_splits()["test"]
    predicted = [LABELS.index(o["label"]) for o in classify(test.texts)]
    print(f"pipeline accuracy on the test split: {accuracy(predicted, test.labels):.1%} "
          f"(snippet, [CLS] readout: {run.metric('cls_accuracy'):.1%})")
    assert abs(accuracy(predicted, test.labels) - run.metric("cls_accuracy")) < 0.02
