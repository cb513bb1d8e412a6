"""SFT speed: our loop against trl's SFTTrainer, same model, data, steps, learning rate and seed.

Both fully fine-tune SmolLM2-135M-Instruct on the instruction set with the loss on the
responses only, for the same number of optimizer steps over the same examples. Ours
differs in three ways that do not change the loss it optimizes:

* packing: the examples of a batch are concatenated into one row (no padding); position
  ids restart at every example, which makes transformers use a block-diagonal causal mask,
  so no example attends to another;
* logits only where there is a target: the 49,152-way output layer runs on the hidden
  states of the response positions only, not on the prompt and template;
* no activation checkpointing (trl's SFTConfig turns it on by default; at this size the
  activations fit easily, and recomputing them costs a third more compute).

It prints tokens/s for each, their ratio, the loss of each trained model on the whole
training set (same examples, same measurement), and the achieved share of this machine's
measured matmul rate: 6 * parameters * tokens/s over the FLOP/s of a large GEMM.

    python benchmarks/sft_speed.py                 # 2-core CPU: fp32
    python benchmarks/sft_speed.py --device cuda   # GPU: bf16 autocast, and MFU against the GEMM rate
    python benchmarks/sft_speed.py --trl-variants  # also trl without activation checkpointing
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from tqdm.auto import tqdm

from fieldguide import load_causal_lm, pick_device, seed_everything
from fieldguide.chat_data import IGNORE, batches, collate, encode, heldout_loss, instruction_set


def gemm_flops(device, dtype, size=2048, repeat=10):
    """Measured FLOP/s of a size x size matrix product (the machine's practical peak)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync(device)
    started = time.perf_counter()
    for _ in range(repeat):
        a @ b
    sync(device)
    return 2 * size ** 3 * repeat / (time.perf_counter() - started)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def pack(examples, device):
    """One row: ids end to end, position ids restarting per example, labels shifted inside each example."""
    ids, positions, targets = [], [], []
    for e in examples:
        ids += e.ids
        positions += range(len(e.ids))
        targets += e.labels[1:] + [IGNORE]  # the last token of an example predicts nothing
    as_row = lambda values: torch.tensor([values], device=device)  # noqa: E731
    return as_row(ids), as_row(positions), as_row(targets)


def our_step(model, examples, device, autocast):
    input_ids, position_ids, targets = pack(examples, device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        hidden = model.model(input_ids=input_ids, position_ids=position_ids, use_cache=False).last_hidden_state
        keep = targets != IGNORE
        logits = model.lm_head(hidden[keep])  # output layer only where there is a target
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def train_ours(model, examples, steps, batch_size, lr, seed, device, autocast):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / steps)  # linear decay, as trl
    plan = [g for epoch in range(math.ceil(steps * batch_size / len(examples)))
            for g in batches(examples, batch_size, seed=seed + epoch)][:steps]
    model.train()
    sync(device)
    started = time.perf_counter()
    for group in tqdm(plan, desc="ours", leave=False):
        loss = our_step(model, group, device, autocast)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    sync(device)
    return time.perf_counter() - started, sum(len(e.ids) for g in plan for e in g)


def train_trl(model, tokenizer, items, steps, batch_size, lr, seed, device, autocast, out, **overrides):
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_list([{"prompt": [{"role": "user", "content": it["prompt"]}],
                               "completion": [{"role": "assistant", "content": it["response"]}]} for it in items])
    config = SFTConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=lr,
                       seed=seed, logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True,
                       use_cpu=device.type == "cpu", bf16=autocast, **overrides)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)
    sync(device)
    started = time.perf_counter()
    trainer.train()
    sync(device)
    seconds = time.perf_counter() - started
    counted = [entry["num_tokens"] for entry in trainer.state.log_history if "num_tokens" in entry]
    return seconds, int(counted[-1]) if counted else None, config.gradient_checkpointing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/sft_speed")
    parser.add_argument("--trl-variants", action="store_true",
                        help="also run trl with gradient checkpointing off, to show where the gap comes from")
    args = parser.parse_args()
    device = pick_device(args.device)
    autocast = device.type == "cuda"
    items = instruction_set()

    seed_everything(args.seed)
    model, tokenizer = load_causal_lm(args.model, device)
    examples = [encode(tokenizer, it["prompt"], it["response"]) for it in items]
    n_params = sum(p.numel() for p in model.parameters())
    ours_seconds, ours_tokens = train_ours(model, examples, args.steps, args.batch_size, args.lr, args.seed,
                                           device, autocast)
    ours_loss = heldout_loss(model, examples, tokenizer.pad_token_id)

    trl_runs = {}
    for label, overrides in (("defaults", {}), ("no checkpointing", {"gradient_checkpointing": False})):
        if label != "defaults" and not args.trl_variants:
            continue
        seed_everything(args.seed)
        model, _ = load_causal_lm(args.model, device)
        seconds, counted, checkpointing = train_trl(model, tokenizer, items, args.steps, args.batch_size, args.lr,
                                                    args.seed, device, autocast, args.out, **overrides)
        trl_runs[label] = (seconds, counted, checkpointing, heldout_loss(model, examples, tokenizer.pad_token_id))

    peak = gemm_flops(device, torch.bfloat16 if autocast else torch.float32)
    ours_rate = ours_tokens / ours_seconds
    trl_seconds, trl_tokens, checkpointing, trl_loss = trl_runs["defaults"]
    trl_rate = ours_tokens / trl_seconds  # the same examples pass through both: rate over our count of real tokens
    print(f"SFT speed, full fine-tuning of {args.model} ({n_params / 1e6:.1f} M parameters) on {device}"
          f"{' (bf16 autocast)' if autocast else ' (fp32)'}: {args.steps} steps x {args.batch_size} examples, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"  ours:            {ours_rate:8.1f} tokens/s  ({ours_tokens} tokens in {ours_seconds:.1f} s), "
          f"loss on the training set after: {ours_loss:.4f}")
    for label, (seconds, counted, checkpointing, loss) in trl_runs.items():
        print(f"  trl SFTTrainer ({label}): {ours_tokens / seconds:8.1f} tokens/s  ({seconds:.1f} s; trl counted "
              f"{counted} tokens), loss after: {loss:.4f}  (gradient checkpointing: {checkpointing}); "
              f"ours / this: {ours_rate * seconds / ours_tokens:.2f}x")
    print(f"  ratio ours / trl (defaults): {ours_rate / trl_rate:.2f}x; final losses differ by "
          f"{abs(ours_loss - trl_loss) / trl_loss:.1%}")
    print(f"  measured GEMM rate: {peak / 1e9:.1f} GFLOP/s; achieved 6*N*tokens/s: ours "
          f"{6 * n_params * ours_rate / 1e9:.1f} GFLOP/s ({6 * n_params * ours_rate / peak:.0%} of it), trl "
          f"{6 * n_params * trl_rate / 1e9:.1f} GFLOP/s ({6 * n_params * trl_rate / peak:.0%})")


if __name__ == "__main__":
    main()
