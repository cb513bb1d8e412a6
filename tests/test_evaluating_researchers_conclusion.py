"""Claims of 'Evaluating a Researcher's Conclusion on Model Training', at ci scale."""

from fieldguide.execute import run_snippet


def test_synthetic_data_size_few_examples_activate_absent_people_stay_at_chance():
    run = run_snippet("evaluating_researchers_conclusion/synthetic_data_size")
    print(run.stdout)
    print({k: v["text"] for k, v in run.results["metrics"].items()})
    m = run.metric
    rows = run.table("data_size")
    full = {r["fine-tuning examples"]: r["full fine-tuning: held-out people"] for r in rows}
    words = {r["fine-tuning examples"]: r["question words only: held-out people"] for r in rows}
    assert rows[0]["fine-tuning examples"] == 0 and m("zero_heldout") <= 0.02
    # Measured at seed 0, held-out exact match for 0 / 5 / 15 / 50 / 125 / 250 examples:
    #   full fine-tuning     0.00 / 0.04 / 0.26 / 0.47 / 0.65 / 0.69
    #   question words only  0.00 / 0.15 / 0.40 / 0.77 / 0.89 / 0.92
    # (seed 1, run by hand: 0.00 / 0.03 / 0.20 / 0.51 / 0.70 / 0.78 and
    #  0.00 / 0.09 / 0.38 / 0.70 / 0.91 / 0.93).
    assert m("full_all") >= 0.5
    assert max(full.values()) - m("full_all") <= 0.05  # no collapse with more data
    assert 50 < m("full_n_for_90pct") <= 125
    # Full fine-tuning partly learns answers: at 50 examples, 0.62 where the held-out answer
    # was a fine-tuning answer vs 0.40 where it was not; question words only: 0.77 vs 0.77.
    assert m("full_50_seen") - m("full_50_unseen") >= 0.1
    assert abs(m("words_50_seen") - m("words_50_unseen")) <= 0.08
    # The question-words recipe is higher at every size from 15 on, by a wide margin at 50
    # and with all the data.
    assert all(words[n] >= full[n] for n in words if n >= 15)
    assert words[50] - full[50] >= 0.15
    assert m("words_all") - m("full_all") >= 0.1
    assert m("words_all") >= 0.8
    # Early saturation only half reproduced: 50 examples give 84 % of the all-data accuracy
    # (not 90 %); 125 give 97 % and the curve is flat from there.
    assert 0.6 <= m("words_50_share") < 0.9
    assert m("words_n_for_90pct") == 125
    assert m("words_all") - words[125] <= 0.05
    # People absent from pre-training stay near chance with either recipe (measured <= 0.05).
    assert m("absent_max") <= 0.10
