"""Claims of 'Evaluating a Researcher's Conclusion on Model Training', at ci scale
(bands: fieldguide.claims, set from the spread recorded by benchmarks/claim_spread.py)."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_synthetic_data_size_few_examples_activate_absent_people_stay_at_chance():
    run = run_snippet("evaluating_researchers_conclusion/synthetic_data_size")
    assert_claims(run)
    # The table the page shows is the curve the claims read: sizes in order, 0 first.
    sizes = [row["fine-tuning examples"] for row in run.table("data_size")]
    assert sizes[0] == 0 and sizes == sorted(sizes) and sizes[-1] == run.metric("full_n")
