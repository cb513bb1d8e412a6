"""LLM alignment: token-shift probe and DPO."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_token_shift_probe():
    run = run_snippet("llm_alignment/token_shift_probe")
    m = run.metric
    shares = [m("unshifted_share"), m("marginal_share"), m("shifted_share")]
    print("unshifted/marginal/shifted:", shares, "early:", m("shifted_early_share"), m("early_token_share"))
    # As in URIAL: most tokens are unshifted, a minority shifted, and the shifts crowd the start
    # of the answer more than tokens in general do.
    assert_claims(run)


def test_dpo_concise():
    run = run_snippet("llm_alignment/dpo_concise")
    m = run.metric
    print({k: m(k) for k in ("loss_first", "loss_last", "margin_end", "accuracy_end", "kl_end", "chosen_end",
                             "rejected_end", "trl_loss_last", "trl_margin_end", "trl_kl_end",
                             "length_before", "length_after", "ours_seconds", "trl_seconds")})
    # The loss starts at log 2 and falls; on held-out pairs the margin rises and ranks them right
    # while the policy stays close to the reference; trl gets to the same place; the margin grows
    # mostly by pushing the rejected texts down, and the greedy answers barely get shorter.
    assert_claims(run)


def test_reward_model_length_bias():
    run = run_snippet("llm_alignment/reward_model_length_bias")
    m = run.metric
    print({k: m(k) for k in ("chosen_shorter_share", "length_accuracy", "random_accuracy_mean",
                             "random_decisive_share", "fresh_accuracy", "head_accuracy", "ours_accuracy",
                             "ours_margin", "trl_accuracy", "trl_margin", "ours_off_topic_wins",
                             "trl_off_topic_wins", "head_off_topic_wins", "head_on_topic_wins",
                             "ours_on_topic_wins", "ours_length_corr", "loss_first", "loss_last",
                             "ours_seconds", "trl_seconds")})
    # Every pair of this set is decided by length; the trained rewards rank the held-out pairs right,
    # and on the probe prefer a concise answer to another question over the rambling right one.
    assert m("n_heldout") == 10 and m("steps") == 8
    assert_claims(run)


def test_synthetic_rl_pass_at_k_exact_reward_sharpens_spurious_rewards_do_not():
    assert_claims(run_snippet("llm_alignment/synthetic_rl_pass_at_k"))
