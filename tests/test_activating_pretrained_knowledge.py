"""Claims of 'Fine-Tuning as a Mechanism for Activating Pre-Trained Knowledge', at ci scale."""

from fieldguide.execute import run_snippet


def test_smollm2_capitals_fine_tuning_activates_known_answers():
    run = run_snippet("activating_pretrained_knowledge/smollm2_capitals")
    m = run.metric
    n, ceiling = m("n_heldout"), m("latent_ceiling")
    print(run.stdout)
    print({k: v["text"] for k, v in run.results["metrics"].items()})

    # Before: it knows many capitals but almost never answers in the bare format.
    assert m("exact_before") <= 0.05 * n
    assert ceiling >= 0.25 * n
    # After the gentle recipe: a large share of the latent ceiling, on held-out countries...
    assert m("gentle_exact") >= 0.5 * ceiling
    # ...overwhelmingly countries it already knew; unknown ones mostly stay wrong.
    assert m("gentle_right_known_share") >= 0.85
    assert m("gentle_unknown_learned_share") <= 0.10
    # The desired answers became much more likely, training a tiny share of parameters.
    assert m("gentle_logprob") >= m("logprob_before") + 2.0
    assert m("gentle_trainable_share") <= 0.02
    # The gentle recipe keeps what the model knew; the aggressive one destroys much of it
    # and gets fewer held-out answers right, though it trains on the same 48 countries.
    assert m("gentle_knowledge_kept_share") >= 0.9
    assert m("aggressive_knowledge_kept") <= 0.8 * m("gentle_knowledge_kept")
    assert m("aggressive_exact") < m("gentle_exact")
    # ...while fitting its own training countries better: memorising, not activating.
    assert m("aggressive_train_exact") >= m("gentle_train_exact") + 0.2
