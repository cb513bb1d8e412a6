"""Token-shift probe (URIAL): which tokens of a fine-tuned model's answers did fine-tuning change?

Lin et al. (arXiv 2312.01552) decode greedily with the aligned model and, at every
position, rank the token it chose under the *untuned* model given the same prefix:
rank 1 = unshifted (the untuned model would have said it too), ranks 2-3 = marginal,
rank > 3 = shifted. For Llama-2-7b -> chat they find 77.7 % / 14.5 % / 7.8 %, and the
shifted tokens are mostly stylistic and early in the answer.

Here the "untuned" model is SmolLM2-135M-Instruct and the tuned one is the same model
after a short LoRA fine-tune on our instruction set (short, direct answers). With LoRA
the untuned model is the same object with its adapter switched off.

Your own instructions: ``--data FILE`` (JSONL with ``prompt`` and ``response``); a quarter of
them (at most the preset's ``n_heldout``) is held out and probed.

    python snippets/llm_alignment/token_shift_probe.py --scale ci
"""

from collections import Counter

import torch
from peft import LoraConfig, get_peft_model

from fieldguide import ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import (IGNORE, collate, continuation, encode, generate, instruction_set,
                                  stratified_split, supervised_fine_tune)
from fieldguide.user_data import add_data_flag, instruction_pairs

PRESETS = {
    "ci": {"n_heldout": 16, "epochs": 1, "max_new_tokens": 32},
    "gpu": {"n_heldout": 16, "epochs": 4, "max_new_tokens": 96},
}
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


# --8<-- [start:idea]
@torch.no_grad()
def ranks_under(model, examples, pad_id):
    """Rank (1 = most likely) of every response token under ``model``, per example."""
    batch = collate(examples, pad_id, model.device)
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1]
    targets = batch.labels[:, 1:]
    chosen = logits.gather(-1, targets.clamp(min=0).unsqueeze(-1))
    rank = (logits > chosen).sum(-1) + 1  # how many tokens the model preferred, plus one
    return [r[t != IGNORE].tolist() for r, t in zip(rank, targets)]
# --8<-- [end:idea]


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    items = instruction_set() if args.data is None else instruction_pairs(args.data)  # yours: checked first
    n_heldout = preset["n_heldout"] if args.data is None else min(preset["n_heldout"], max(1, len(items) // 4))
    seed_everything(args.seed)
    writer = ResultsWriter(args.out, "llm_alignment/token_shift_probe", args)
    train_items, heldout_items = stratified_split(items, n_heldout, seed=args.seed)

    model, tokenizer = load_causal_lm(args.model, device)
    pad = tokenizer.pad_token_id
    model = get_peft_model(model, LORA)
    train = [encode(tokenizer, it["prompt"], it["response"]) for it in train_items]
    losses = supervised_fine_tune(model, train, pad, lr=1e-3, epochs=preset["epochs"], batch_size=8,
                                  seed=args.seed)

    # --8<-- [start:probe]
    prompts = [it["prompt"] for it in heldout_items]
    tuned_ids = generate(model, tokenizer, prompts, preset["max_new_tokens"])
    examples = [continuation(tokenizer, p, ids) for p, ids in zip(prompts, tuned_ids)]
    with model.disable_adapter():  # the untuned model: same weights, adapter off
        base_ranks = ranks_under(model, examples, pad)
        base_ids = generate(model, tokenizer, prompts, preset["max_new_tokens"])
    tuned_ranks = ranks_under(model, examples, pad)
    # --8<-- [end:probe]

    flat = [r for ranks in base_ranks for r in ranks]
    n = len(flat)
    shares = {"unshifted": sum(r == 1 for r in flat) / n, "marginal": sum(2 <= r <= 3 for r in flat) / n,
              "shifted": sum(r > 3 for r in flat) / n}
    greedy_check = sum(r == 1 for ranks in tuned_ranks for r in ranks) / n  # should be 1.0
    summary(writer, tokenizer, shares, greedy_check, n_tokens=n, n_train=len(train), losses=losses,
            prompts=prompts, tuned_ids=tuned_ids, base_ids=base_ids, base_ranks=base_ranks)
    plot(writer, base_ranks)
    writer.save()


def summary(writer, tokenizer, shares, greedy_check, *, n_tokens, n_train, losses, prompts, tuned_ids, base_ids,
            base_ranks):
    """Print the rank shares and the shifted tokens; record the metrics and tables the page reads."""
    shifted = Counter()
    early = 0
    for ids, ranks in zip(tuned_ids, base_ranks):
        for position, (token, rank) in enumerate(zip(ids, ranks)):
            if rank > 3:
                shifted[tokenizer.decode([token])] += 1
                early += position < 5
    n_shifted = sum(shifted.values())
    early_tokens = sum(min(len(ids), 5) for ids in tuned_ids) / n_tokens  # share of all tokens in positions 0-4

    print(f"SmolLM2 + LoRA ({n_train} instructions, {len(losses)} steps, final loss {losses[-1]:.3f}); "
          f"{len(prompts)} held-out prompts, {n_tokens} generated tokens")
    print(f"  ranks under the untuned model: unshifted {shares['unshifted']:.1%}, marginal {shares['marginal']:.1%}, "
          f"shifted {shares['shifted']:.1%}   (URIAL, Llama-2-7b -> chat: 77.7 % / 14.5 % / 7.8 %)")
    print(f"  shifted tokens within the first 5 positions: {early}/{n_shifted} "
          f"(all tokens there: {early_tokens:.0%})")
    print("  most frequent shifted tokens:", ", ".join(f"{t!r}x{c}" for t, c in shifted.most_common(10)))
    writer.metric("n_tokens", n_tokens)
    writer.metric("steps", len(losses))
    for key, value in shares.items():
        writer.metric(f"{key}_share", value, "{:.1%}")
    writer.metric("greedy_check", greedy_check, "{:.0%}")
    writer.metric("shifted_early_share", early / max(n_shifted, 1), "{:.0%}")
    writer.metric("early_token_share", early_tokens, "{:.0%}")
    writer.table("shifted_tokens", ["token", "times shifted"],
                 [[repr(t), c] for t, c in shifted.most_common(12)],
                 caption="Tokens the tuned model chose that the untuned model ranked below 3rd.")

    def marked(ids, ranks):
        return "".join(f"[{tokenizer.decode([t])}]" if r > 3 else tokenizer.decode([t]) for t, r in zip(ids, ranks))

    writer.table("answers", ["prompt", "untuned answer", "tuned answer ([shifted] tokens)"],
                 [[p, tokenizer.decode(b)[:160], marked(t, r)[:200]]
                  for p, b, t, r in list(zip(prompts, base_ids, tuned_ids, base_ranks))[:8]],
                 caption="Greedy answers to held-out instructions; brackets mark tokens with rank > 3 "
                         "under the untuned model.")


def plot(writer, base_ranks):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(r) for r in base_ranks)
    shifted = [0] * width
    total = [0] * width
    for ranks in base_ranks:
        for position, rank in enumerate(ranks):
            total[position] += 1
            shifted[position] += rank > 3
    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    ax.bar(range(width), [s / t if t else 0 for s, t in zip(shifted, total)], color="#c62828")
    ax.set_xlabel("position in the answer (token)")
    ax.set_ylabel("share shifted (rank > 3)")
    ax.set_title("where fine-tuning changed the answer")
    fig.tight_layout()
    writer.figure("positions", fig, caption="Share of shifted tokens at each position of the tuned "
                                            "model's greedy answers.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "sft", "the 64 shipped instructions")
    run_main(main, parser)
