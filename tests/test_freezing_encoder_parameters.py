"""Frozen all-MiniLM-L6-v2 body + a trained head of the standard BertForSequenceClassification."""

from fieldguide.execute import run_snippet

NAME = "freezing_encoder_parameters/frozen_encoder_linear_head"


def test_frozen_encoder_linear_head():
    run = run_snippet(NAME)
    print(run.stdout)
    accuracy, trainable = run.metric("accuracy"), run.metric("trainable")
    print(f"measured: accuracy {accuracy:.1%}, macro-F1 {run.metric('macro_f1'):.3f}, trainable {trainable:,}, "
          f"train {run.metric('train_seconds'):.1f} s, run {run.seconds:.0f} s; other head "
          f"({run.metric('other_head')}, {run.metric('other_head_trainable'):,} trainable): validation "
          f"{run.metric('other_head_validation_accuracy'):.1%} vs {run.metric('validation_accuracy'):.1%}, "
          f"test {run.metric('other_head_accuracy'):.1%}")
    assert run.metric("head") == "classifier"
    assert trainable == 384 * 3 + 3  # the classifier only; body and pre-trained pooler frozen
    assert run.metric("other_head_trainable") == 384 * 384 + 384 + 384 * 3 + 3  # pooler + classifier
    assert run.metric("frozen_params") > 22_000_000
    assert run.metric("total_params") == run.metric("frozen_params") + 384 * 384 + 384 + trainable
    # The head was chosen on validation; training the pooler too does not do better there.
    assert run.metric("validation_accuracy") >= run.metric("other_head_validation_accuracy")
    # Measured 64.6 % (first-token vectors of a mean-pooling sentence encoder): well above
    # chance (33 %), far below full fine-tuning (the decision page's test checks the gap).
    assert 0.55 <= accuracy < 0.80, "the frozen first-token vectors separate some, not most, of the sentiment"
    curve = run.table("curve")
    assert {r["training labels"] for r in curve} == {8, 32, 128, 480}
    assert sum(r["training labels"] == 8 for r in curve) >= 3  # several seeds
    means = {n: sum(r["test accuracy"] for r in curve if r["training labels"] == n) /
             sum(r["training labels"] == n for r in curve) for n in (8, 32, 128, 480)}
    print("mean accuracy by label count:", {n: f"{v:.1%}" for n, v in means.items()})
    assert means[8] < means[32] < means[128] <= means[480] + 0.02  # more labels help
    assert means[8] > 0.36  # even 8 labels beat chance (33 %); measured 40.6 % over 5 seeds
    assert not any(p.name.endswith(".py") for p in (run.out / "model").iterdir())  # no model code shipped
    assert (run.out / "model" / "model.safetensors").is_file()


def test_saved_frozen_classifier_loads_in_a_pipeline():
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
          f"(snippet: {run.metric('accuracy'):.1%})")
    assert abs(accuracy(predicted, test.labels) - run.metric("accuracy")) < 0.02
