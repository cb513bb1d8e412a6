"""SFT speed: our loop against trl's SFTTrainer, same model, data, batches, steps, learning rate and seed.

Every arm fully fine-tunes SmolLM2-135M-Instruct on the instruction set with the loss on the
responses only, on exactly the same batches in the same order (trl reads the examples
sequentially, in our plan's order), with the same AdamW and linear lr decay. The arms:

* ``ours``: the examples of a batch packed end to end into one row (no padding); each
  example's attention is its own causal SDPA call (no dense block mask over the row, no
  attention across examples); the 49,152-way output layer runs only on the response
  positions; no activation checkpointing; fused AdamW.
* ``ours-dense-mask``: the same, but attention over the whole row with the block-diagonal
  mask transformers builds from restarting position ids (what ``ours`` did before).
* ``ours-first-version``: dense mask and the default (unfused) AdamW: the loop as first written.
* ``trl-best``: ``SFTTrainer`` at its best CPU configuration in trl 1.16: no gradient
  checkpointing, ``padding_free=True`` (one row per batch, position ids restarting, so
  sdpa gets the block-diagonal mask), completion-only loss (prompt-completion data), fused
  AdamW (trl's default), no per-step logging, no gradient clipping (ours does not clip).
* ``trl-defaults``: ``SFTTrainer`` as configured out of the box (gradient checkpointing,
  padded batches, clipping at 1.0), except fp32 instead of its bf16 default, as every arm.

The arms run interleaved (round after round, the order rotated each round, a freshly loaded
model each run). Each run's first step is warm-up and is not timed; tokens/s counts the real
tokens (our tokenization) of the timed steps. It reports the median and range per arm, the
median of the per-round ratios, the final loss of each arm on the whole training set after
its run, the machine's measured GEMM rate and the share of it achieved
(6 * parameters * tokens/s over the FLOP/s of a large fp32 GEMM), and, from ``torch.profiler``,
the share of our step's CPU time spent in matrix products. The figures go to
``benchmarks/results/sft_speed.json``.

    python benchmarks/sft_speed.py                     # 2-core CPU, fp32: 3 rounds, ~6 min
    python benchmarks/sft_speed.py --repeats 5 --steps 6
    python benchmarks/sft_speed.py --smoke --steps 1 --batch-size 2   # does it run (the test; loss on 8 examples)
    python benchmarks/sft_speed.py --device cuda       # GPU: bf16 autocast
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from fieldguide import load_causal_lm, pick_device, seed_everything
from fieldguide.chat_data import IGNORE, batches, encode, heldout_loss, instruction_set

ARMS = ("ours", "ours-dense-mask", "ours-first-version", "trl-best", "trl-defaults")
RESULTS = Path(__file__).resolve().parent / "results" / "sft_speed.json"


def gemm_flops(device, dtype, size=2048, repeat=20):
    """Measured FLOP/s of a size x size matrix product (the machine's practical peak)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
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


# ---------------------------------------------------------------- per-example attention
def per_example_attention(module, query, key, value, attention_mask, example_bounds=None, **kwargs):
    """Causal SDPA on each packed example separately: no mask tensor, no work across examples."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    kwargs.pop("is_causal", None)
    outs = [sdpa_attention_forward(module, query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], None,
                                   is_causal=True, **kwargs)[0] for a, b in example_bounds]
    return torch.cat(outs, dim=1), None  # [batch, length, heads, head_dim], as sdpa returns


def use_per_example_attention(model):
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register("per_example_sdpa", per_example_attention)
    AttentionMaskInterface.register("per_example_sdpa", lambda *args, **kwargs: None)  # no mask is built
    model.config._attn_implementation = "per_example_sdpa"


# ---------------------------------------------------------------- our loop
def pack(examples, device):
    """One row: ids end to end, position ids restarting per example, labels shifted inside each example."""
    ids, positions, targets, bounds = [], [], [], []
    for e in examples:
        bounds.append((len(ids), len(ids) + len(e.ids)))
        ids += e.ids
        positions += range(len(e.ids))
        targets += e.labels[1:] + [IGNORE]  # the last token of an example predicts nothing
    as_row = lambda values: torch.tensor([values], device=device)  # noqa: E731
    return as_row(ids), as_row(positions), as_row(targets), bounds


def our_step(model, examples, device, autocast, per_example):
    input_ids, position_ids, targets, bounds = pack(examples, device)
    extra = {"example_bounds": bounds} if per_example else {}
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        hidden = model.model(input_ids=input_ids, position_ids=position_ids, use_cache=False,
                             **extra).last_hidden_state
        keep = targets != IGNORE
        logits = model.lm_head(hidden[keep])  # output layer only where there is a target
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def train_ours(model, plan, lr, device, autocast, per_example=True, fused=True):
    """Returns the wall-clock time at the end of every step (from the start)."""
    if per_example:
        use_per_example_attention(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, fused=fused or None)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / len(plan))  # linear decay, as trl
    model.train()
    sync(device)
    started, ends = time.perf_counter(), []
    for group in tqdm(plan, desc="ours", leave=False):
        loss = our_step(model, group, device, autocast, per_example)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        ends.append(time.perf_counter() - started)
    model.config._attn_implementation = "sdpa"  # the loss readout below runs the stock model
    return ends


# ---------------------------------------------------------------- trl
TRL_CONFIGS = {
    "trl-best": dict(activation_checkpointing=False, padding_free=True, max_length=None, max_grad_norm=0.0),
    "trl-defaults": dict(),
}


def train_trl(model, tokenizer, plan_items, batch_size, lr, seed, device, autocast, out, overrides, log_every):
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends = []

        def on_train_begin(self, *args, **kwargs):
            sync(device)
            self.started = time.perf_counter()

        def on_step_end(self, *args, **kwargs):
            sync(device)
            self.ends.append(time.perf_counter() - self.started)

    data = Dataset.from_list([{"prompt": [{"role": "user", "content": it["prompt"]}],
                               "completion": [{"role": "assistant", "content": it["response"]}]}
                              for it in plan_items])
    steps = len(plan_items) // batch_size
    settings = dict(logging_steps=log_every) | overrides
    config = SFTConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=lr,
                       seed=seed, save_strategy="no", report_to=[], disable_tqdm=True,
                       train_sampling_strategy="sequential",  # our plan's batches, in our order
                       use_cpu=device.type == "cpu", bf16=autocast, **settings)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)
    clock = StepClock()
    trainer.add_callback(clock)
    trainer.train()
    trl_tokens = [len(row) for row in trainer.train_dataset["input_ids"]]
    return clock.ends, trl_tokens, {k: getattr(getattr(config, k), "value", getattr(config, k)) for k in (
        "activation_checkpointing", "padding_free", "packing", "max_length", "optim", "max_grad_norm",
        "logging_steps", "completion_only_loss", "bf16")} | {"completion_only_loss_used": trainer.completion_only_loss}


# ---------------------------------------------------------------- profile
GEMM_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_mkl_linear", "aten::addmv"}
ATTENTION_OPS = ("scaled_dot_product", "flash_attention")


def profile_ours(args, device, autocast, plan):
    """Share of one step's CPU time (self time, all threads' ops) in matrix products and in attention."""
    from torch.profiler import ProfilerActivity, profile

    seed_everything(args.seed)
    model, _ = load_causal_lm(args.model, device)
    use_per_example_attention(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, fused=True)
    model.train()

    def step(group):
        our_step(model, group, device, autocast, True).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(plan[0])  # warm-up
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(plan[1 % len(plan)])
    wall = time.perf_counter() - started
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    gemm = sum(e.self_cpu_time_total for e in events if e.key in GEMM_OPS)
    attention = sum(e.self_cpu_time_total for e in events if any(s in e.key for s in ATTENTION_OPS))
    optim = sum(e.self_cpu_time_total for e in events if "adam" in e.key.lower())
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:12]
    return {"step_wall_s": round(wall, 3), "gemm_share": round(gemm / total, 3),
            "attention_share": round(attention / total, 3), "optimizer_share": round(optim / total, 3),
            "top_ops": [[e.key, round(e.self_cpu_time_total / total, 3)] for e in top]}


# ---------------------------------------------------------------- main
def machine(device):
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import transformers
    import trl

    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
            "device": str(device), "cuda": torch.cuda.get_device_name() if device.type == "cuda" else None,
            "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def spread(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": [round(v, 2) for v in values]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run; the first is warm-up")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of all arms, interleaved")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from: {', '.join(ARMS)}")
    parser.add_argument("--smoke", action="store_true",
                        help="one round, no profile, no results file: does it run (the test)")
    parser.add_argument("--json", default=None, help="results file (default benchmarks/results/sft_speed.json; none with --smoke)")
    parser.add_argument("--out", default="runs/sft_speed", help="trl's output_dir (nothing is saved)")
    args = parser.parse_args()
    arms = [a.strip() for a in args.arms.split(",")]
    if unknown := [a for a in arms if a not in ARMS]:
        parser.error(f"unknown arm(s) {unknown}; choose from {ARMS}")
    if args.steps < 1 or args.batch_size < 1 or args.repeats < 1:
        parser.error("--steps, --batch-size and --repeats must be at least 1")
    repeats = 1 if args.smoke else args.repeats
    json_path = Path(args.json) if args.json else (None if args.smoke else RESULTS)

    device = pick_device(args.device)
    autocast = device.type == "cuda"
    items = instruction_set()
    info = machine(device)
    peaks = [gemm_flops(device, torch.bfloat16 if autocast else torch.float32)]

    seed_everything(args.seed)
    model, tokenizer = load_causal_lm(args.model, device)
    n_params = sum(p.numel() for p in model.parameters())
    examples = [encode(tokenizer, it["prompt"], it["response"]) for it in items]
    # The loss readout: the whole training set; the smoke run (does it run?) reads 8 examples.
    readout = examples[:8] if args.smoke else examples
    initial_loss = heldout_loss(model, readout, tokenizer.pad_token_id)
    del model
    order = [i for epoch in range(math.ceil(args.steps * args.batch_size / len(items)))
             for group in batches(list(range(len(items))), args.batch_size, seed=args.seed + epoch) for i in group]
    plan_ids = [order[s * args.batch_size:(s + 1) * args.batch_size] for s in range(args.steps)]
    plan = [[examples[i] for i in group] for group in plan_ids]
    step_tokens = [sum(len(e.ids) for e in group) for group in plan]
    warm = 1 if args.steps > 1 else 0  # steps not timed
    timed_tokens = sum(step_tokens[warm:])

    rates = {a: [] for a in arms}
    losses, trl_info, trl_counts = {}, {}, {}
    for r in range(repeats):
        for arm in arms[r % len(arms):] + arms[:r % len(arms)]:  # rotate the order every round
            seed_everything(args.seed)
            model, _ = load_causal_lm(args.model, device)
            if arm.startswith("ours"):
                ends = train_ours(model, plan, args.lr, device, autocast, per_example=arm == "ours",
                                  fused=arm != "ours-first-version")
            else:
                ends, trl_tokens, trl_info[arm] = train_trl(
                    model, tokenizer, [items[i] for g in plan_ids for i in g], args.batch_size, args.lr, args.seed,
                    device, autocast, args.out, TRL_CONFIGS[arm], log_every=args.steps if arm == "trl-best" else 10)
                trl_counts[arm] = sum(trl_tokens[warm * args.batch_size:])
            seconds = ends[-1] - (ends[warm - 1] if warm else 0.0)
            rates[arm].append(timed_tokens / seconds)
            if arm not in losses:  # runs are deterministic: read the loss once
                losses[arm] = heldout_loss(model, readout, tokenizer.pad_token_id)
            print(f"  round {r + 1}/{repeats} {arm:17s} {rates[arm][-1]:7.1f} tokens/s", flush=True)
            del model
    peaks.append(gemm_flops(device, torch.bfloat16 if autocast else torch.float32))
    peak = statistics.median(peaks)
    profile = None if args.smoke or device.type != "cpu" or "ours" not in arms else profile_ours(args, device, autocast, plan)

    print(f"SFT speed, full fine-tuning of {args.model} ({n_params / 1e6:.1f} M parameters) on {info['cpu']}, "
          f"{info['torch_threads']} threads, torch {info['torch']}{' (bf16 autocast)' if autocast else ' (fp32)'}: "
          f"{args.steps} steps x {args.batch_size} examples per run ({warm} warm-up), {repeats} interleaved round(s)")
    print(f"  loss on {'the training set' if readout is examples else f'{len(readout)} training examples'} "
          f"before: {initial_loss:.4f}")
    for arm in arms:
        s = spread(rates[arm])
        print(f"  {arm:17s} median {s['median']:7.1f} tokens/s (min {s['min']:.1f}, max {s['max']:.1f}), "
              f"loss after: {losses[arm]:.4f}")
    ratios = {}
    for other in arms:
        if other != "ours" and "ours" in arms:
            per_round = [a / b for a, b in zip(rates["ours"], rates[other])]
            ratios[other] = {"median_of_round_ratios": round(statistics.median(per_round), 3),
                             "min": round(min(per_round), 3), "max": round(max(per_round), 3),
                             "loss_difference": round(abs(losses["ours"] - losses[other]) / losses[other], 4)}
            print(f"  ratio ours / {other}: {ratios[other]['median_of_round_ratios']:.2f}x "
                  f"(rounds {ratios[other]['min']:.2f}-{ratios[other]['max']:.2f}); final losses differ by "
                  f"{ratios[other]['loss_difference']:.1%}")
    shares = {arm: 6 * n_params * statistics.median(rates[arm]) / peak for arm in arms}
    print(f"  measured GEMM rate: {peak / 1e9:.1f} GFLOP/s; achieved 6*N*tokens/s: " + ", ".join(
        f"{arm} {shares[arm]:.0%}" for arm in arms))
    if profile:
        print(f"  profile of one step of ours ({profile['step_wall_s']:.2f} s): matrix products "
              f"{profile['gemm_share']:.0%} of op time, attention {profile['attention_share']:.0%}, "
              f"AdamW {profile['optimizer_share']:.0%}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({
            "benchmark": "benchmarks/sft_speed.py", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": info | {"load_average_at_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
            "setup": {"model": args.model, "parameters": n_params, "precision": "bf16 autocast" if autocast else "fp32",
                      "steps_per_run": args.steps, "warm_up_steps_excluded": warm, "batch_size": args.batch_size,
                      "lr": args.lr, "seed": args.seed, "rounds": repeats, "timed_tokens_per_run": timed_tokens,
                      "trl_tokens_per_run": trl_counts},
            "tokens_per_s": {arm: spread(rates[arm]) for arm in arms},
            "ratios_ours_over": ratios,
            "loss_before": round(initial_loss, 4), "loss_after": {arm: round(v, 4) for arm, v in losses.items()},
            "gemm_gflops": {"median": round(peak / 1e9, 1), "runs": [round(p / 1e9, 1) for p in peaks]},
            "share_of_gemm_rate": {arm: round(v, 3) for arm, v in shares.items()},
            "trl_configs": trl_info, "profile_ours": profile,
        }, indent=1) + "\n")
        print(f"  wrote {json_path}")


if __name__ == "__main__":
    main()
