"""The decision table: every approach measured on the same test split; issue 4's targets."""

from fieldguide.execute import run_key, run_snippet

NAME = "selecting_adaptation_strategy/compare_strategies"
TARGET_SECONDS = 180  # issue 4: all of its snippets together at ci scale on 2 cores


def _fresh_run():
    """The decision run; rerun it if a source snippet changed since it was cached."""
    import shutil

    run = run_snippet(NAME)
    stale = [name for name, key in run.results["sources"].items()
             if key != run_key(name, ["--scale", run.results["settings"]["scale"],
                                      "--device", run.results["settings"]["device"]])]
    if stale:
        print("decision run was stale (sources changed):", stale)
        shutil.rmtree(run.out)
        run = run_snippet(NAME)
    return run


def test_one_row_per_approach_with_every_measure():
    run = _fresh_run()
    print(run.stdout)
    table = run.table("strategies")
    assert len(table) == 8  # frozen, full, LoRA, control; zero- and few-shot prompting, raw and calibrated
    for row in table:
        assert row["training labels"] <= 500
        for column in ("test accuracy", "macro-F1", "trainable parameters", "training wall time (s)",
                       "peak memory (MB)", "inference s / 100 messages"):
            assert row[column] is not None


def test_issue_targets():
    run = _fresh_run()
    m = run.metric
    print(f"best: {m('best_approach')} {m('best_accuracy'):.1%}; frozen {m('frozen_accuracy'):.1%} vs full "
          f"{m('full_accuracy'):.1%} ({m('frozen_vs_full_points'):.1f} points, {m('frozen_param_share'):.3%} of "
          f"the parameters); LoRA {m('lora_accuracy'):.1%}; control {m('control_accuracy'):.1%}; zero-shot "
          f"{m('zero_shot_accuracy'):.1%}, few-shot {m('few_shot_accuracy'):.1%}; smallest pre-training gap "
          f"{m('pretraining_gap_min_points'):.0f} points at {m('pretraining_gap_min_at')} labels")
    assert m("best_accuracy") >= 0.85
    assert m("frozen_vs_full_points") <= 10
    assert m("frozen_param_share") < 0.001


def test_time_budget_of_all_issue_snippets():
    run = _fresh_run()
    seconds = run.metric("seconds_all_sources")
    print(f"all approach snippets at ci scale: {seconds:.0f} s of wall time (target {TARGET_SECONDS} s)")
    assert seconds <= 4 * TARGET_SECONDS, "far over the time budget"
