"""LLM alignment: token-shift probe and DPO."""

from fieldguide.execute import run_snippet


def test_token_shift_probe():
    run = run_snippet("llm_alignment/token_shift_probe")
    m = run.metric
    print(run.stdout)
    shares = [m("unshifted_share"), m("marginal_share"), m("shifted_share")]
    print("unshifted/marginal/shifted:", shares, "early:", m("shifted_early_share"), m("early_token_share"))
    assert abs(sum(shares) - 1) < 1e-6
    assert m("greedy_check") > 0.98  # the tuned model's own greedy tokens rank 1 under itself
    # as in URIAL: most tokens are unshifted, a minority shifted
    assert m("unshifted_share") > 0.6
    assert 0.02 < m("shifted_share") < 0.3
    # and the shifts crowd the start of the answer more than tokens in general do
    assert m("shifted_early_share") > m("early_token_share")


def test_dpo_concise():
    run = run_snippet("llm_alignment/dpo_concise")
    m = run.metric
    print(run.stdout)
    print({k: m(k) for k in ("loss_first", "loss_last", "margin_end", "accuracy_end", "kl_end", "chosen_end",
                             "rejected_end", "trl_loss_last", "trl_margin_end", "trl_kl_end",
                             "length_before", "length_after", "ours_seconds", "trl_seconds")})
    # the written-out loss starts at log 2 (policy = reference) and falls
    assert abs(m("loss_first") - 0.6931) < 0.01
    assert m("loss_last") < 0.5
    # held-out pairs, with filler phrases never trained on: the margin rises and ranks them right
    assert m("margin_start") == 0
    assert m("margin_end") > 3
    assert m("accuracy_end") >= 0.8
    # while the policy stays close to the reference (nats per response token)
    assert m("kl_end") < 0.5
    # trl's DPOTrainer on the same data and settings gets to the same place
    assert abs(m("trl_loss_first") - 0.6931) < 0.01
    assert m("trl_accuracy_end") >= 0.8
    assert abs(m("trl_margin_end") - m("margin_end")) < 0.4 * m("margin_end")
    assert m("trl_kl_end") < 0.5
    # the page's caveat: the margin grows mostly by pushing the rejected texts down, and a few
    # steps on fixed pairs barely change how long the greedy answers are
    assert -m("rejected_end") > 2 * abs(m("chosen_end"))
    assert m("length_after") > 0.7 * m("length_before")
