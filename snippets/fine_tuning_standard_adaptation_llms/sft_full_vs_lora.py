"""Supervised fine-tuning of SmolLM2, full vs LoRA, with the loss on response tokens only.

One small instruction set (64 hand-written instructions with short, direct answers,
in ``fieldguide/data/instructions.jsonl``), split into training and held-out
instructions. Three runs from the same pre-trained weights, same data order and steps:

* full fine-tuning (every weight trains), loss on the response tokens only;
* LoRA (rank-8 adapters on the attention and MLP projections), loss on the response only;
* the same LoRA run with the loss on *every* token, prompt and chat template included.

For each: trainable parameters, training time, peak memory, the training-loss curve and
the held-out loss on the responses, before and after.

    python snippets/fine_tuning_standard_adaptation_llms/sft_full_vs_lora.py --scale ci
"""

import time

import torch
from peft import LoraConfig, get_peft_model
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import (PeakMemory, batches, collate, encode, heldout_loss, instruction_set,
                                  parameter_counts, stratified_split)
from fieldguide.user_data import add_data_flag, instruction_pairs

PRESETS = {
    "ci": {"n_heldout": 16, "n_train": 24, "epochs": 2, "batch_size": 8},
    "gpu": {"n_heldout": 16, "n_train": 48, "epochs": 6, "batch_size": 8},
}
# --8<-- [start:idea]
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
RUNS = {  # name: (LoRA config or None for full fine-tuning, learning rate, loss on the prompt too?)
    "full fine-tuning": (None, 3e-5, False),
    "LoRA r=8": (LORA, 1e-3, False),
    "LoRA r=8, loss on all tokens": (LORA, 1e-3, True),
}


def train(model, examples, pad_id, lr, epochs, batch_size, seed):
    """The whole loop: batches of padded examples, cross-entropy on the labelled tokens, AdamW."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    steps = epochs * -(-len(examples) // batch_size)
    with tqdm(total=steps, desc="training", leave=False) as bar:
        for epoch in range(epochs):
            for group in batches(examples, batch_size, seed=seed + epoch):
                batch = collate(group, pad_id, model.device)
                # labels == -100 on masked tokens; transformers shifts them and averages the rest
                loss = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             labels=batch.labels).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses
# --8<-- [end:idea]


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    items = instruction_set() if args.data is None else instruction_pairs(args.data)  # yours: checked first
    n_heldout = preset["n_heldout"] if args.data is None else min(preset["n_heldout"], max(1, len(items) // 4))
    train_items, heldout_items = stratified_split(items, n_heldout, seed=args.seed)
    train_items = train_items[:preset["n_train"]]
    writer = ResultsWriter(args.out, "fine_tuning_standard_adaptation_llms/sft_full_vs_lora", args)

    model, tokenizer = load_causal_lm(args.model, device)
    pad = tokenizer.pad_token_id
    heldout = [encode(tokenizer, it["prompt"], it["response"]) for it in heldout_items]
    heldout_all = [encode(tokenizer, it["prompt"], it["response"], mask_prompt=False) for it in heldout_items]
    masked = [encode(tokenizer, it["prompt"], it["response"]) for it in train_items]
    unmasked = [encode(tokenizer, it["prompt"], it["response"], mask_prompt=False) for it in train_items]
    n_tokens = sum(len(e.ids) for e in masked)
    n_response = sum(e.n_response for e in masked)
    before = heldout_loss(model, heldout, pad)
    before_all = heldout_loss(model, heldout_all, pad)
    print(f"SmolLM2 on {device}: {len(masked)} training instructions, {len(heldout)} held out; "
          f"{n_response} of {n_tokens} training tokens ({n_response / n_tokens:.0%}) are response tokens")
    print(f"  held-out loss on responses before fine-tuning: {before:.3f}")

    results = {}
    for name, (lora, lr, loss_on_prompt) in RUNS.items():
        seed_everything(args.seed)
        model, _ = load_causal_lm(args.model, device)  # fresh pre-trained weights for each run
        if lora is not None:
            model = get_peft_model(model, lora)
        trainable, total = parameter_counts(model)
        started = time.perf_counter()
        with PeakMemory(device) as memory:
            losses = train(model, unmasked if loss_on_prompt else masked, pad, lr,
                           preset["epochs"], preset["batch_size"], args.seed)
        seconds = time.perf_counter() - started
        results[name] = r = {
            "trainable": trainable, "share": trainable / total, "seconds": seconds,
            "peak_mb": memory.peak_mb, "losses": losses,
            "heldout": heldout_loss(model, heldout, pad),
            "heldout_all_tokens": heldout_loss(model, heldout_all, pad),
        }
        print(f"  {name}: {trainable:,} trainable ({r['share']:.2%}), {seconds:.0f} s, peak +{r['peak_mb']:.0f} MB, "
              f"final training loss {losses[-1]:.3f}, held-out loss on responses {r['heldout']:.3f} "
              f"(on all tokens {r['heldout_all_tokens']:.3f})")

    summary(writer, results, n_train=len(masked), n_heldout=len(heldout), n_response=n_response,
            n_tokens=n_tokens, before=before, before_all=before_all, device=device)
    plot(writer, results, before)
    writer.save()


def summary(writer, results, *, n_train, n_heldout, n_response, n_tokens, before, before_all, device):
    """Record the metrics and the table the page reads."""
    writer.metric("n_train", n_train)
    writer.metric("n_heldout", n_heldout)
    writer.metric("steps", len(results["full fine-tuning"]["losses"]))
    writer.metric("response_token_share", n_response / n_tokens, "{:.0%}")
    writer.metric("heldout_before", before, "{:.3f}")
    writer.metric("heldout_all_tokens_before", before_all, "{:.3f}")
    for tag, name in zip(("full", "lora", "lora_all_tokens"), RUNS):
        r = results[name]
        writer.metric(f"{tag}_trainable", r["trainable"], "{:,}")
        writer.metric(f"{tag}_trainable_share", r["share"], "{:.2%}")
        writer.metric(f"{tag}_seconds", r["seconds"], "{:.0f} s")
        writer.metric(f"{tag}_peak_mb", r["peak_mb"], "{:.0f} MB")
        writer.metric(f"{tag}_final_train_loss", r["losses"][-1], "{:.3f}")
        writer.metric(f"{tag}_heldout", r["heldout"], "{:.3f}")
        writer.metric(f"{tag}_heldout_all_tokens", r["heldout_all_tokens"], "{:.3f}")
    writer.table(
        "summary",
        ["run", "trainable parameters", "share", "training time", "peak memory added",
         "final training loss", "held-out loss (responses)", "held-out loss (all tokens)"],
        [["before fine-tuning", None, None, None, None, None, before, before_all]]
        + [[name, r["trainable"], r["share"], r["seconds"], r["peak_mb"], r["losses"][-1], r["heldout"],
            r["heldout_all_tokens"]] for name, r in results.items()],
        caption="Same data, order, steps and seed. Held-out loss = mean cross-entropy per token on "
                f"{n_heldout} instructions never trained on. Device: {device}.",
        formats=["{}", "{:,}", "{:.2%}", "{:.0f} s", "{:.0f} MB", "{:.3f}", "{:.3f}", "{:.3f}"],
    )


def plot(writer, results, before):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, r in results.items():
        line, = ax.plot(range(1, len(r["losses"]) + 1), r["losses"], marker=".", label=f"{name}: training")
        ax.axhline(r["heldout"], color=line.get_color(), ls="--", lw=1)
    ax.axhline(before, color="grey", ls=":", lw=1, label="held-out, before")
    ax.set_xlabel("step")
    ax.set_ylabel("loss per target token")
    ax.set_title("training loss (solid) and held-out loss on responses (dashed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    writer.figure("losses", fig, caption="Training loss per step; dashed: held-out loss on response "
                                         "tokens after training; dotted: before.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "sft", "the 64 shipped instructions")
    run_main(main, parser)
