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
    # A handful of examples already does much of it: 50 examples (10 people) reach at least
    # half of what all 250 reach, and 5 examples (one person) are far above chance.
    by_n = {r["fine-tuning examples"]: r["held-out people (in pre-training)"] for r in rows}
    assert by_n[50] >= 0.5 * m("full_heldout")
    assert by_n[5] >= 0.10
    assert held == sorted(held) or max(held) - held[-1] <= 0.05  # no collapse with more data
    # People absent from pre-training stay near chance however many examples (measured <= 0.04).
    assert m("absent_max") <= 0.10
