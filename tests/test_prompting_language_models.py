"""Zero- and few-shot prompting of SmolLM2-135M-Instruct, labels scored by log-probability.

The claims and their bands live in ``fieldguide.claims_real_models``.
"""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims

NAME = "prompting_language_models/smollm2_zero_few_shot"


def test_prompting_claims():
    run = run_snippet(NAME)
    for key in ("zero_shot", "few_shot", "zero_shot_calibrated", "few_shot_calibrated"):
        print(f"measured: {key} accuracy {run.metric(key + '_accuracy'):.1%}, macro-F1 "
              f"{run.metric(key + '_macro_f1'):.3f}, predicted {run.metric(key + '_predicted')}")
    print(f"few-shot: {run.metric('few_shot_infer_per_100'):.2f} s per 100 messages; run {run.seconds:.0f} s")
    assert_claims(run)
