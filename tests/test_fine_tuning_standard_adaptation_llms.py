"""Fine-tuning as a standard adaptation method for LLMs: SFT full vs LoRA, response-only loss."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_sft_full_vs_lora():
    run = run_snippet("fine_tuning_standard_adaptation_llms/sft_full_vs_lora")
    m = run.metric
    print({k: m(k) for k in ("heldout_before", "full_heldout", "lora_heldout", "lora_all_tokens_heldout",
                             "full_peak_mb", "lora_peak_mb", "full_seconds", "lora_seconds")})
    # LoRA trains a few percent of the weights, full fine-tuning all of them; both learn, LoRA
    # within reach of full; masking the prompt helps the responses; full needs far more memory.
    assert_claims(run)
