"""Claims of 'Fine-Tuning as a Mechanism for Activating Pre-Trained Knowledge', at ci scale.

The claims and their bands live in ``fieldguide.claims_real_models``.
"""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_smollm2_capitals_fine_tuning_activates_known_answers():
    run = run_snippet("activating_pretrained_knowledge/smollm2_capitals")
    print({k: v["text"] for k, v in run.results["metrics"].items()})
    # Before: the bare format is rare though the knowledge is there; after the gentle recipe, a large
    # share of the latent ceiling, where it knew; the aggressive recipe damages and memorises.
    assert_claims(run)
