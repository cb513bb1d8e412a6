"""scope-of-introductory-fine-tuning: same step, different trainable sets, very different costs."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_trainable_sets_and_their_cost():
    run = run_snippet("scope_of_introductory_fine_tuning/what_gets_trained")
    full, head, lora = (run.metric(k) for k in ("full_trainable", "head_trainable", "lora_trainable"))
    print(f"trainable: full {full:,}, LoRA {lora:,} ({run.metric('lora_share'):.2%}), head {head:,}; "
          f"step: full {run.metric('full_step_ms'):.0f} ms, head only {run.metric('head_step_ms'):.0f} ms")
    # LoRA trains exactly r * (d_in + d_out) per adapted matrix (plus the head); a frozen encoder
    # skips the backward pass through 6 layers, so its step is cheaper.
    assert_claims(run)
