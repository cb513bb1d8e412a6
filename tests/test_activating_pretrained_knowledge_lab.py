"""Claims of the activation lab on 'Fine-Tuning as a Mechanism for Activating Pre-Trained
Knowledge' (section "In a controlled world"), at ci scale.

The claims and their bands live in ``fieldguide.claims``; the bands contain the spread
measured across seeds and CPU code paths by ``benchmarks/claim_spread.py``.
"""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_synthetic_bios_activation_pretrained_answers_heldout_people_random_init_does_not():
    assert_claims(run_snippet("activating_pretrained_knowledge/synthetic_bios_activation"))


def test_synthetic_extractability_augmented_biographies_extractable_single_not():
    assert_claims(run_snippet("activating_pretrained_knowledge/synthetic_extractability"))


def test_synthetic_translation_few_instructions_unlock_heldout_pairs():
    assert_claims(run_snippet("activating_pretrained_knowledge/synthetic_translation"))


def test_synthetic_knowledge_injection_teaches_in_the_trained_form_at_a_cost():
    assert_claims(run_snippet("activating_pretrained_knowledge/synthetic_knowledge_injection"))
