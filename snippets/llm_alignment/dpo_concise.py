"""DPO on SmolLM2 from a small preference set (concise chosen, rambling rejected), written out and with trl.

Direct Preference Optimization (Rafailov et al., arXiv 2305.18290) trains the policy
pi on pairs (prompt x, chosen y_w, rejected y_l) against a frozen reference model:

    loss = -log sigmoid( beta * [ (log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x)) ] )

The policy is SmolLM2 + a LoRA adapter; the reference is the same model with the adapter
switched off. We watch, on held-out pairs whose rambling phrases never occur in training:
the implicit reward margin (the bracket above), how often it is positive, and the
per-token KL divergence from the reference. Then the same run with trl's DPOTrainer.

    python snippets/llm_alignment/dpo_concise.py --scale ci
"""

import time

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import (IGNORE, batches, collate, encode, generate, preference_pairs,
                                  sequence_logprobs)
from fieldguide.user_data import add_data_flag, preference_triples

PRESETS = {
    "ci": {"n_train": 16, "epochs": 3, "batch_pairs": 4, "eval_every": 4, "max_new_tokens": 128},
    "gpu": {"n_train": 30, "epochs": 4, "batch_pairs": 4, "eval_every": 4, "max_new_tokens": 160},
}
BETA, LR = 0.1, 5e-4
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])


# --8<-- [start:idea]
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=BETA):
    """The DPO loss on summed response log-probs; also returns the implicit reward margins."""
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).mean(), margin


def pair_logprobs(model, pairs, pad_id):
    """Summed log-probs of the chosen and the rejected responses, in one forward pass."""
    batch = collate([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs], pad_id, model.device)
    logps = sequence_logprobs(model, batch)
    return logps[:len(pairs)], logps[len(pairs):]
# --8<-- [end:idea]


@torch.no_grad()
def evaluate(model, pairs, pad_id):
    """Held-out reward margin, share of pairs ranked right, and mean per-token KL(policy || ref)."""
    model.eval()
    batch = collate([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs], pad_id, model.device)
    targets = batch.labels[:, 1:]
    mask = targets != IGNORE

    def log_probs():  # log-softmax over the vocabulary at the response positions only
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1]
        return torch.log_softmax(logits[mask], -1)

    policy = log_probs()
    with model.disable_adapter():
        ref = log_probs()
    def summed(lp):  # per-sequence sum over its response tokens (mask selects row by row)
        picked = lp.gather(-1, targets[mask].unsqueeze(-1)).squeeze(-1)
        return torch.stack([part.sum() for part in picked.split(mask.sum(1).tolist())])

    n = len(pairs)
    (policy_sum, ref_sum) = summed(policy), summed(ref)
    _, margin = dpo_loss(policy_sum[:n], policy_sum[n:], ref_sum[:n], ref_sum[n:])
    kl = (policy.exp() * (policy - ref)).sum(-1)  # exact KL over the vocabulary, per response token
    model.train()
    return {"margin": margin.mean().item(), "accuracy": (margin > 0).float().mean().item(),
            "kl": kl.mean().item(), "chosen": (policy_sum[:n] - ref_sum[:n]).mean().item(),
            "rejected": (policy_sum[n:] - ref_sum[n:]).mean().item()}


# --8<-- [start:train]
def train_dpo(model, train, heldout, pad_id, preset, seed):
    """DPO written out: reference log-probs once, then policy log-probs, loss, AdamW."""
    with torch.no_grad(), model.disable_adapter():
        for group in batches(train, 8):
            ref_c, ref_r = pair_logprobs(model, group, pad_id)
            for pair, c, r in zip(group, ref_c.tolist(), ref_r.tolist()):
                pair["ref_chosen"], pair["ref_rejected"] = c, r
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)
    model.train()
    losses, curve, step = [], [(0, evaluate(model, heldout, pad_id))], 0
    total = preset["epochs"] * -(-len(train) // preset["batch_pairs"])
    with tqdm(total=total, desc="DPO (ours)", leave=False) as bar:
        for epoch in range(preset["epochs"]):
            for group in batches(train, preset["batch_pairs"], seed=seed + epoch):
                policy_c, policy_r = pair_logprobs(model, group, pad_id)
                ref_c = torch.tensor([p["ref_chosen"] for p in group], device=policy_c.device)
                ref_r = torch.tensor([p["ref_rejected"] for p in group], device=policy_c.device)
                loss, _ = dpo_loss(policy_c, policy_r, ref_c, ref_r)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                step += 1
                if step % preset["eval_every"] == 0 or step == total:
                    curve.append((step, evaluate(model, heldout, pad_id)))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses, curve
# --8<-- [end:train]


def train_with_trl(model, tokenizer, rows, preset, seed, device, out):
    """The same run with trl's DPOTrainer: same data, LoRA, beta, learning rate, batch and epochs."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    data = Dataset.from_list([{"prompt": [{"role": "user", "content": r["prompt"]}],
                               "chosen": [{"role": "assistant", "content": r["chosen"]}],
                               "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows])
    config = DPOConfig(
        output_dir=str(out / "trl"), beta=BETA, learning_rate=LR, num_train_epochs=preset["epochs"],
        per_device_train_batch_size=preset["batch_pairs"], lr_scheduler_type="constant", weight_decay=0.0,
        optim="adamw_torch", max_grad_norm=1e9, activation_checkpointing=False, logging_steps=1,
        save_strategy="no", report_to=[], seed=seed, use_cpu=device.type == "cpu", bf16=False,
        disable_tqdm=True, precompute_ref_log_probs=True,  # as ours: reference log-probs once, up front
    )
    trainer = DPOTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer, peft_config=LORA)
    trainer.remove_callback(PrinterCallback)  # its per-step log lines would crowd the output
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return trainer.model, losses


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    rows = preference_pairs() if args.data is None else preference_triples(args.data, args.seed)  # yours: checked first
    writer = ResultsWriter(args.out, "llm_alignment/dpo_concise", args)
    train_rows = [r for r in rows if r["split"] == "train"][:preset["n_train"]]
    heldout_rows = [r for r in rows if r["split"] == "heldout"]

    seed_everything(args.seed)
    model, tokenizer = load_causal_lm(args.model, device)
    pad = tokenizer.pad_token_id

    def pairs(items):
        return [{"chosen": encode(tokenizer, r["prompt"], r["chosen"]),
                 "rejected": encode(tokenizer, r["prompt"], r["rejected"])} for r in items]

    train, heldout = pairs(train_rows), pairs(heldout_rows)
    model = get_peft_model(model, LORA)
    prompts = [r["prompt"] for r in heldout_rows]
    with model.disable_adapter():
        answers_before = generate(model, tokenizer, prompts, preset["max_new_tokens"])
    length_before = [len(ids) for ids in answers_before]
    started = time.perf_counter()
    losses, curve = train_dpo(model, train, heldout, pad, preset, args.seed)
    ours_seconds = time.perf_counter() - started
    answers = generate(model, tokenizer, prompts, preset["max_new_tokens"])
    length_after = [len(ids) for ids in answers]
    sample = [(tokenizer.decode(b), tokenizer.decode(a)) for b, a in zip(answers_before[:4], answers[:4])]

    seed_everything(args.seed)
    fresh, _ = load_causal_lm(args.model, device)
    started = time.perf_counter()
    trl_model, trl_losses = train_with_trl(fresh, tokenizer, train_rows, preset, args.seed, device, args.out)
    trl_seconds = time.perf_counter() - started
    trl_end = evaluate(trl_model, heldout, pad)

    summary(writer, preset, losses, curve, trl_losses, trl_end, ours_seconds, trl_seconds, n_train=len(train),
            n_heldout=len(heldout), prompts=prompts, sample=sample, length_before=length_before,
            length_after=length_after)
    plot(writer, losses, trl_losses, curve)
    writer.save()


def summary(writer, preset, losses, curve, trl_losses, trl_end, ours_seconds, trl_seconds, *, n_train, n_heldout,
            prompts, sample, length_before, length_after):
    """Print both runs and record the metrics and tables the page reads."""
    start, end = curve[0][1], curve[-1][1]
    print(f"DPO on SmolLM2 + LoRA ({n_train} pairs, {len(losses)} steps, beta {BETA}, lr {LR}); "
          f"{n_heldout} held-out pairs")
    for step, point in curve:
        print(f"  step {step:3d}: held-out reward margin {point['margin']:6.2f} (chosen {point['chosen']:+6.2f}, "
              f"rejected {point['rejected']:+6.2f}), ranked right {point['accuracy']:.0%}, "
              f"KL to reference {point['kl']:.4f} nats/token")
    print(f"  ours: training loss {losses[0]:.3f} -> {losses[-1]:.3f} in {ours_seconds:.0f} s")
    print(f"  trl DPOTrainer: training loss {trl_losses[0]:.3f} -> {trl_losses[-1]:.3f} in {trl_seconds:.0f} s; "
          f"held-out margin {trl_end['margin']:.2f}, ranked right {trl_end['accuracy']:.0%}, KL {trl_end['kl']:.4f}")
    print(f"  greedy answer length on held-out prompts: {sum(length_before) / len(prompts):.1f} -> "
          f"{sum(length_after) / len(prompts):.1f} tokens (cap {preset['max_new_tokens']})")

    cap = preset["max_new_tokens"]  # an answer cut at the cap has no measured length
    writer.metric("max_new_tokens", cap)
    writer.metric("capped_before", sum(n >= cap for n in length_before))
    writer.metric("capped_after", sum(n >= cap for n in length_after))
    writer.metric("n_train", n_train)
    writer.metric("n_heldout", n_heldout)
    writer.metric("steps", len(losses))
    writer.metric("beta", BETA)
    writer.metric("margin_start", start["margin"], "{:.2f}")
    writer.metric("margin_end", end["margin"], "{:.2f}")
    writer.metric("accuracy_start", start["accuracy"], "{:.0%}")
    writer.metric("accuracy_end", end["accuracy"], "{:.0%}")
    writer.metric("kl_end", end["kl"], "{:.3f}")
    writer.metric("chosen_end", end["chosen"], "{:+.2f}")
    writer.metric("rejected_end", end["rejected"], "{:+.2f}")
    writer.metric("kl_max", max(p["kl"] for _, p in curve), "{:.3f}")
    writer.metric("loss_first", losses[0], "{:.3f}")
    writer.metric("loss_last", losses[-1], "{:.3f}")
    writer.metric("ours_seconds", ours_seconds, "{:.0f} s")
    writer.metric("trl_seconds", trl_seconds, "{:.0f} s")
    writer.metric("trl_loss_first", trl_losses[0], "{:.3f}")
    writer.metric("trl_loss_last", trl_losses[-1], "{:.3f}")
    writer.metric("trl_margin_end", trl_end["margin"], "{:.2f}")
    writer.metric("trl_accuracy_end", trl_end["accuracy"], "{:.0%}")
    writer.metric("trl_kl_end", trl_end["kl"], "{:.3f}")
    writer.metric("length_before", sum(length_before) / len(prompts), "{:.1f}")
    writer.metric("length_after", sum(length_after) / len(prompts), "{:.1f}")
    writer.table("compare", ["run", "training loss, first step", "last step", "held-out reward margin",
                             "held-out pairs ranked right", "KL to reference (nats/token)", "time"],
                 [["DPO written out", losses[0], losses[-1], end["margin"], end["accuracy"], end["kl"], ours_seconds],
                  ["trl DPOTrainer", trl_losses[0], trl_losses[-1], trl_end["margin"], trl_end["accuracy"],
                   trl_end["kl"], trl_seconds]],
                 caption="Same data, LoRA, beta, learning rate, batch and epochs; data order differs "
                         "(each shuffles with its own sampler). Our time includes the held-out "
                         "evaluations of the curves (before the first step and every few steps); trl's "
                         "has none.",
                 formats=["{}", "{:.3f}", "{:.3f}", "{:.2f}", "{:.0%}", "{:.4f}", "{:.0f} s"])
    writer.table("answers", ["held-out prompt", "answer before DPO", "answer after DPO"],
                 [[p, before, after] for p, (before, after) in zip(prompts, sample)],
                 caption="Greedy answers of the same model before and after DPO (ours), cut at "
                         f"{preset['max_new_tokens']} tokens: what the preference tuning changed, right or wrong.")


def plot(writer, losses, trl_losses, curve):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(11, 3.2))
    left.plot(range(1, len(losses) + 1), losses, marker=".", label="written out")
    left.plot(range(1, len(trl_losses) + 1), trl_losses, marker=".", label="trl DPOTrainer")
    left.axhline(0.6931, color="grey", ls=":", lw=1)
    left.set(xlabel="step", ylabel="DPO loss", title="training loss (log 2 at start)")
    left.legend(fontsize=8)
    steps = [s for s, _ in curve]
    mid.plot(steps, [p["margin"] for _, p in curve], marker="o")
    mid.set(xlabel="step", ylabel="reward margin (nats)", title="held-out chosen - rejected")
    right.plot(steps, [p["kl"] for _, p in curve], marker="o", color="#c62828")
    right.set(xlabel="step", ylabel="nats per token", title="KL(policy || reference), held-out")
    fig.tight_layout()
    writer.figure("dpo", fig, caption="Left: training loss, ours and trl's. Middle and right: held-out "
                                      "implicit reward margin and KL to the reference during our run.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "preferences", "the 40 shipped pairs (a quarter of yours, at most 10, is held out)")
    run_main(main, parser)
