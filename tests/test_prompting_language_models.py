"""Zero- and few-shot prompting of SmolLM2-135M-Instruct, labels scored by log-probability."""

from fieldguide_site.execute import run_snippet

NAME = "prompting_language_models/smollm2_zero_few_shot"


def test_prompting_scores_every_message_with_one_label():
    run = run_snippet(NAME)
    print(run.stdout)
    rows = run.table("rows")
    assert len(rows) == 4  # zero- and few-shot, each raw and calibrated
    for key in ("zero_shot", "few_shot", "zero_shot_calibrated", "few_shot_calibrated"):
        print(f"measured: {key} accuracy {run.metric(key + '_accuracy'):.1%}, macro-F1 "
              f"{run.metric(key + '_macro_f1'):.3f}, predicted {run.metric(key + '_predicted')}")
        counts = [int(part.split()[1]) for part in run.metric(key + "_predicted").split(", ")]
        assert sum(counts) == 240  # every message got exactly one of the three labels
    print(f"few-shot: {run.metric('few_shot_infer_per_100'):.2f} s per 100 messages; run {run.seconds:.0f} s")
    assert all(r["trainable parameters"] == 0 for r in rows)  # no parameter changes
    assert {r["training labels"] for r in rows} == {0, run.metric("shots")}
    best = max(r["test accuracy"] for r in rows)
    assert best > 0.36, "better than chance (33 %) on 240 balanced messages"
    assert best < 0.85, "a 135M model prompted should stay well below the fine-tuned encoder"
