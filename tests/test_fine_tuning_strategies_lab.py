"""Claims of the activation lab on 'Fine-Tuning Strategies' (LoRA rank), at ci scale
(bands: fieldguide.claims, set from the spread recorded by benchmarks/claim_spread.py)."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_synthetic_lora_rank_barely_matters_from_pretrained_weights():
    assert_claims(run_snippet("fine_tuning_strategies/synthetic_lora_rank"))
