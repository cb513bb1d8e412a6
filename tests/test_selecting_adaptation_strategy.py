"""The decision table: every approach measured on the same test split; issue 4's targets."""

from fieldguide.execute import run_snippet

NAME = "selecting_adaptation_strategy/compare_strategies"
TARGET_SECONDS = 180  # issue 4: all of its snippets together at ci scale on 2 cores
# Wall time of the five approach snippets, summed from their runs in this suite. Measured on idle
# cores: 186 s before the ci presets were cut (full fine-tuning 53, control 59, LoRA 34, prompting
# 31, frozen 10); 173 s after (46, 48, 31, 34, 14). The guard allows 10 % for a busier machine;
# the measured figure is printed.
GUARD_SECONDS = 1.1 * TARGET_SECONDS


def test_one_row_per_approach_with_every_measure():
    run = run_snippet(NAME)
    print(run.stdout)
    table = run.table("strategies")
    # frozen (mean-pooled; started from label sentences, with all labels and with none), full, LoRA,
    # control; zero- and few-shot prompting, raw and calibrated
    assert len(table) == 10
    for row in table:
        assert row["training labels"] <= 500
        for column in ("test accuracy", "macro-F1", "trainable parameters", "training wall time (s)",
                       "peak memory (MB)", "inference s / 100 messages"):
            assert row[column] is not None


def test_issue_targets():
    run = run_snippet(NAME)
    m = run.metric
    print(f"best: {m('best_approach')} {m('best_accuracy'):.1%}; frozen {m('frozen_accuracy'):.1%} vs full "
          f"{m('full_accuracy'):.1%} ({m('frozen_vs_full_points'):.1f} points, {m('frozen_param_share'):.3%} of "
          f"the parameters); LoRA {m('lora_accuracy'):.1%}; control {m('control_accuracy'):.1%}; zero-shot "
          f"{m('zero_shot_accuracy'):.1%}, few-shot {m('few_shot_accuracy'):.1%}; smallest pre-training gap "
          f"{m('pretraining_gap_min_points'):.0f} points at {m('pretraining_gap_min_at')} labels")
    assert m("best_accuracy") >= 0.85, "issue 4 target: >= 85 % with <= 500 labels"
    # Issue 4's target "frozen within 10 points of full fine-tuning": the linear head on the frozen
    # body's mean-pooled token vectors (how this sentence encoder was pre-trained to be read)
    # measured 8.7 points at ci scale (82.9 % vs 91.7 %). The [CLS] pooler readout of the same
    # frozen body is 27.1 points behind; its page shows both.
    assert 0 < m("frozen_vs_full_points") <= 10, "issue 4 target: frozen + linear head within 10 points"
    assert m("frozen_param_share") < 0.001


def test_pretraining_gap_at_every_label_count():
    """Issue 4: the pre-trained encoder beats the random-init control by >= 20 points at every label count."""
    m = run_snippet(NAME).metric
    gaps = {n: m(f"gap_at_{n}") for n in (8, 32, 128, 480)}
    print("gap to the control, points:", {n: round(g, 1) for n, g in gaps.items()},
          "best pre-trained approach:", {n: m(f"best_at_{n}") for n in gaps},
          "without label sentences at 8:", round(m("gap_without_label_sentences_at_8"), 1))
    assert m("pretraining_gap_min_points") == min(gaps.values())
    assert min(gaps.values()) >= 20, "issue 4 target: >= 20 points at every label count"
    # The page: at 8 labels the margin comes from the head started from label sentences.
    assert m("best_at_8") == "named"
    assert m("gap_without_label_sentences_at_8") < 20 <= gaps[8]


def test_the_page_claims_about_the_curve():
    """The decision prose: label sentences for no or few labels, a frozen head from a few dozen to a
    hundred, full fine-tuning with all 480; prompting costs far more per message."""
    m = run_snippet(NAME).metric
    keys = ("named", "frozen", "full", "lora", "control")
    curve = {n: {a: m(f"{a}_at_{n}") for a in keys} for n in (8, 32, 128, 480)}
    for n, row in curve.items():
        print(n, {a: f"{v:.1%}" for a, v in row.items()})
    print(f"frozen, label sentences only: {m('named_zero_shot_accuracy'):.1%}; SmolLM2 calibrated zero-shot "
          f"{m('zero_shot_calibrated_accuracy'):.1%}, few-shot {m('few_shot_calibrated_accuracy'):.1%}")
    assert m("named_zero_shot_accuracy") >= 0.50  # well above chance (33 %) with no labels
    assert m("named_zero_shot_accuracy") > m("zero_shot_calibrated_accuracy")  # and above prompting SmolLM2
    assert curve[8]["named"] > max(curve[8]["frozen"], curve[8]["full"], curve[8]["lora"]) + 0.05
    for n in (32, 128):  # a frozen head leads the fine-tuned encoders
        assert max(curve[n]["named"], curve[n]["frozen"]) > max(curve[n]["full"], curve[n]["lora"]) + 0.03
    assert curve[480]["full"] > curve[480]["frozen"] + 0.03
    # "the fine-tuning curves rise steeply from 128 to 480 labels" (measured +14 and +39 points)
    assert all(curve[480][a] - curve[128][a] >= 0.08 for a in ("full", "lora"))
    assert m("full_accuracy") > max(m("zero_shot_calibrated_accuracy"), m("few_shot_calibrated_accuracy"))
    # Costs the prose states: prompting is many times slower per message; encoders train in a
    # minute or less and classify 100 messages in about a second.
    assert m("prompting_infer_per_100") > 5 * m("encoder_infer_per_100")
    assert m("encoder_train_seconds_max") <= 60
    assert m("encoder_infer_per_100_max") <= 1.5


def test_time_budget_of_all_issue_snippets():
    run = run_snippet(NAME)
    seconds = run.metric("seconds_all_sources")
    print(f"all approach snippets at ci scale: {seconds:.0f} s of wall time (target {TARGET_SECONDS} s)")
    assert seconds <= GUARD_SECONDS, f"over the time budget ({TARGET_SECONDS} s targeted)"
