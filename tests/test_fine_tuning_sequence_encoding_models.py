"""LoRA on all-MiniLM-L6-v2: a small share of trainable parameters, close to full fine-tuning."""

from fieldguide.classification import LABELS
from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims

NAME = "fine_tuning_sequence_encoding_models/lora_encoder"


def test_lora_encoder():
    run = run_snippet(NAME)
    accuracy, share = run.metric("accuracy"), run.metric("trainable_share")
    print(f"measured: accuracy {accuracy:.1%}, macro-F1 {run.metric('macro_f1'):.3f}, trainable "
          f"{run.metric('trainable'):,} ({share:.2%}), train {run.metric('train_seconds'):.1f} s, run {run.seconds:.0f} s")
    assert_claims(run)


def test_merged_lora_saves_a_plain_body_and_head():
    from safetensors import safe_open

    from fieldguide.classification import accuracy, predict, sentiment_splits
    from fieldguide.mean_pooled import load_mean_pooled

    run = run_snippet(NAME)
    with safe_open(str(run.out / "model" / "model.safetensors"), framework="pt") as f:
        assert not any("lora" in key for key in f.keys())  # merged: no adapter left to load
    model, tokenizer, labels, max_length = load_mean_pooled(run.out)
    assert tuple(labels) == LABELS
    test = sentiment_splits()["test"]
    reloaded = accuracy(predict(model, tokenizer, test.texts, max_length), test.labels)
    print(f"merged and reloaded: {reloaded:.1%} (the run, with the adapters: {run.metric('accuracy'):.1%})")
    assert abs(reloaded - run.metric("accuracy")) <= 2 / len(test)  # merging changes rounding only
