"""Claims of 'Broad Applications of Fine-Tuning LLMs', at ci scale (bands: fieldguide.claims)."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_synthetic_token_shift_format_tokens_shift_facts_do_not():
    assert_claims(run_snippet("broad_applications_fine_tuning_llms/synthetic_token_shift"))
