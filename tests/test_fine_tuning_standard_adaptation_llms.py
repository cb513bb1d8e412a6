"""Fine-tuning as a standard adaptation method for LLMs: SFT full vs LoRA, response-only loss."""

from fieldguide.execute import run_snippet


def test_sft_full_vs_lora():
    run = run_snippet("fine_tuning_standard_adaptation_llms/sft_full_vs_lora")
    m = run.metric
    print(run.stdout)
    print({k: m(k) for k in ("heldout_before", "full_heldout", "lora_heldout", "lora_all_tokens_heldout",
                             "full_peak_mb", "lora_peak_mb", "full_seconds", "lora_seconds")})
    # LoRA trains a few percent of the weights; full fine-tuning trains all of them
    assert m("full_trainable_share") == 1.0
    assert m("lora_trainable_share") < 0.03
    # both learn: held-out loss on the responses falls clearly
    assert m("full_heldout") < m("heldout_before") - 0.3
    assert m("lora_heldout") < m("heldout_before") - 0.3
    # and LoRA is within reach of full fine-tuning at this data size
    assert abs(m("lora_heldout") - m("full_heldout")) < 0.4
    # the reason to mask the prompt: most tokens are prompt/template, and training on them
    # leaves the responses worse off than training on the responses alone
    assert m("response_token_share") < 0.35
    assert m("lora_heldout") < m("lora_all_tokens_heldout") - 0.1
    # full fine-tuning holds gradients and AdamW moments for every weight
    assert m("full_peak_mb") > 2 * m("lora_peak_mb")
