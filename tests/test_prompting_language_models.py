"""Zero- and few-shot prompting of SmolLM2-135M-Instruct, labels scored by log-probability."""

from fieldguide.execute import run_snippet

NAME = "prompting_language_models/smollm2_zero_few_shot"


def test_prompting_scores_every_message_with_one_label():
    run = run_snippet(NAME)
    print(run.stdout)
    rows = {r["training labels"]: r for r in run.table("rows")}
    zero, few = rows[0], rows[run.metric("shots")]
    print(f"measured: zero-shot {zero['test accuracy']:.1%} (macro-F1 {zero['macro-F1']:.3f}), "
          f"few-shot {few['test accuracy']:.1%} (macro-F1 {few['macro-F1']:.3f}); "
          f"{few['inference s / 100 messages']:.2f} s per 100 messages; run {run.seconds:.0f} s")
    assert zero["trainable parameters"] == few["trainable parameters"] == 0  # no parameter changes
    for row in (zero, few):
        assert row["test accuracy"] > 0.36, "better than chance (33 %) on 240 balanced messages"
    # every message got exactly one of the three labels
    for key in ("zero_shot_predicted", "few_shot_predicted"):
        counts = [int(part.split()[1]) for part in run.metric(key).split(", ")]
        assert sum(counts) == 240
