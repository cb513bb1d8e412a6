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


def test_merged_lora_folder_loads_in_a_pipeline():
    from transformers import pipeline

    run = run_snippet(NAME)
    classify = pipeline("text-classification", model=str(run.out / "model"), device="cpu")
    assert classify.model.config.id2label == dict(enumerate(LABELS))
    assert not any("lora" in name for name, _ in classify.model.named_parameters())  # merged
    print(classify(["Still no refund after three weeks.", "Lovely staff, thank you!"]))
    assert classify("Still no refund after three weeks, this is ridiculous.")[0]["label"] == "negative"
