"""Claims of 'Evaluating a Researcher's Conclusion on Model Training', at ci scale."""

from fieldguide.execute import run_snippet


def test_synthetic_data_size_few_examples_activate_absent_people_stay_at_chance():
    run = run_snippet("evaluating_researchers_conclusion/synthetic_data_size")
    print(run.stdout)
    print({k: v["text"] for k, v in run.results["metrics"].items()})
    m = run.metric
    rows = run.table("data_size")
    held = [r["held-out people (in pre-training)"] for r in rows]
    assert rows[0]["fine-tuning examples"] == 0 and m("zero_heldout") <= 0.02
    # All examples: most held-out questions answered (measured 0.69 at seed 0).
    assert m("full_heldout") >= 0.5
    # Measured 0.00 / 0.04 / 0.26 / 0.47 / 0.65 / 0.69 for 0 / 5 / 15 / 50 / 125 / 250
    # examples: no saturation after a handful (unlike LIMA), but 15 examples about 3 people
    # unlock answers about 50 others, and half the data gets 90 % of the way.
    by_n = {r["fine-tuning examples"]: r["held-out people (in pre-training)"] for r in rows}
    assert by_n[15] >= 0.15
    assert by_n[50] >= 0.5 * m("full_heldout")
    assert m("n_for_90pct") <= 125
    assert max(held) - held[-1] <= 0.05  # no collapse with more data
    # People absent from pre-training stay near chance however many examples (measured <= 0.04).
    assert m("absent_max") <= 0.10
