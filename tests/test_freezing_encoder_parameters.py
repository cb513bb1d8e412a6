"""Frozen all-MiniLM-L6-v2 + linear head: few trainable parameters, most of the accuracy."""

from fieldguide.execute import run_snippet

NAME = "freezing_encoder_parameters/frozen_encoder_linear_head"


def test_frozen_encoder_linear_head():
    run = run_snippet(NAME)
    print(run.stdout)
    accuracy, trainable = run.metric("accuracy"), run.metric("trainable")
    print(f"measured: accuracy {accuracy:.1%}, macro-F1 {run.metric('macro_f1'):.3f}, trainable {trainable:,}, "
          f"train {run.metric('train_seconds'):.1f} s, run {run.seconds:.0f} s")
    assert trainable == 384 * 3 + 3  # the linear head only; every encoder weight frozen
    assert run.metric("frozen_params") > 22_000_000
    assert accuracy >= 0.75, "the frozen pre-trained vectors should separate most of the sentiment"
    curve = run.table("curve")
    assert {r["training labels"] for r in curve} == {8, 32, 128, 480}
    assert sum(r["training labels"] == 8 for r in curve) >= 3  # several seeds
    means = {n: sum(r["test accuracy"] for r in curve if r["training labels"] == n) /
             sum(r["training labels"] == n for r in curve) for n in (8, 32, 128, 480)}
    print("mean accuracy by label count:", {n: f"{v:.1%}" for n, v in means.items()})
    assert means[8] < means[32] < means[128] <= means[480] + 0.02  # more labels help
    assert means[8] > 0.40  # even 8 labels beat chance (33 %) clearly
    assert (run.out / "model" / "mean_pooling_classifier.py").is_file()


def test_saved_frozen_classifier_loads_in_a_pipeline():
    from transformers import pipeline

    from fieldguide.classification import LABELS, accuracy, sentiment_splits

    run = run_snippet(NAME)
    classify = pipeline("text-classification", model=str(run.out / "model"), trust_remote_code=True, device="cpu")
    assert classify.model.config.id2label == dict(enumerate(LABELS))
    test = sentiment_splits()["test"]
    predicted = [LABELS.index(o["label"]) for o in classify(test.texts)]
    print(f"pipeline accuracy on the test split: {accuracy(predicted, test.labels):.1%} "
          f"(snippet: {run.metric('accuracy'):.1%})")
    assert abs(accuracy(predicted, test.labels) - run.metric("accuracy")) < 0.02
