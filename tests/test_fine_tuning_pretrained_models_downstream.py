"""fine-tuning-pretrained-models-downstream: a gentle update works; a harsh one destroys the start."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_small_learning_rate_small_change_big_gain():
    run = run_snippet("fine_tuning_pretrained_models_downstream/gentle_vs_harsh")
    gentle, harsh = run.metric("gentle_accuracy"), run.metric("harsh_accuracy")
    moved_gentle, moved_harsh = run.metric("gentle_change_layers"), run.metric("harsh_change_layers")
    print(f"{run.metric('steps')} steps: gentle {gentle:.1%} (layers moved {moved_gentle:.2%}), "
          f"harsh {harsh:.1%} (layers moved {moved_harsh:.2%})")
    # Gentle: the weights move by a few per cent at most, and accuracy goes from chance to > 75 %.
    # Harsh: the weights move several times further and the result is worse.
    assert_claims(run)
