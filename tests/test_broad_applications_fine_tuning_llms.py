"""Claims of 'Broad Applications of Fine-Tuning LLMs', at ci scale."""

from fieldguide.execute import run_snippet


def test_synthetic_token_shift_format_tokens_shift_facts_do_not():
    run = run_snippet("broad_applications_fine_tuning_llms/synthetic_token_shift")
    print(run.stdout)
    print({k: v["text"] for k, v in run.results["metrics"].items()})
    m = run.metric
    # The fine-tuned model states right facts about people it was not fine-tuned on.
    assert m("answers_right") >= 0.7
    # Style tokens (opener, stop) are what fine-tuning shifted; the base model never wrote them.
    assert m("shifted_style") >= 0.9
    # Facts are mostly within the base model's top three (measured ~0.8) and shift far less.
    assert m("top3_fact") >= 0.6
    assert m("shifted_style") - m("shifted_fact") >= 0.5
