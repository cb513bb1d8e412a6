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
