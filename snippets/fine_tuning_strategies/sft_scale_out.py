"""Scaling out: the SFT loop as distributed data parallel (torchrun), with checkpoint and resume.

The same script runs on one process or many:

    python snippets/fine_tuning_strategies/sft_scale_out.py --scale ci
    torchrun --standalone --nproc_per_node 2 snippets/fine_tuning_strategies/sft_scale_out.py --scale ci

Under torchrun each process holds a full copy of the model (LoRA on SmolLM2), takes its
share of every global batch, and DistributedDataParallel averages the gradients, so the
run follows the single-process one step for step. The loss is normalised by the number of
response tokens in the *global* batch, which makes the match exact rather than
approximate. Backend: nccl on GPUs, gloo on CPUs.

Every ``save_every`` steps rank 0 writes a checkpoint (adapter weights, optimizer state,
step, losses and the run's configuration) into ``--out``; started again with the same
command after a crash or a kill, the run continues from there and ends at the same loss.
A checkpoint of another run (other scale, seed, model or number of processes) is refused
rather than resumed; ``--fresh`` starts over.

Your own instructions: ``--data FILE`` (JSONL with ``prompt`` and ``response``); a quarter of
them (at most the preset's ``n_heldout``) is held out. A checkpoint written with other data
is refused too.
"""

import hashlib
import json
import os
import time

import torch
import torch.distributed as dist
from peft import LoraConfig, get_peft_model
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from fieldguide import (FieldGuideError, ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything,
                        snippet_parser)
from fieldguide.chat_data import (IGNORE, batches, collate, encode, heldout_loss, instruction_set,
                                  stratified_split)
from fieldguide.user_data import add_data_flag, instruction_pairs

PRESETS = {
    "ci": {"n_train": 16, "n_heldout": 8, "global_batch": 8, "epochs": 3, "save_every": 1},
    "gpu": {"n_train": 48, "n_heldout": 16, "global_batch": 16, "epochs": 20, "save_every": 10},
}
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
LR = 1e-3


# --8<-- [start:setup]
def setup_distributed(device):
    """(rank, world size); starts the process group when launched by torchrun."""
    if "WORLD_SIZE" not in os.environ:
        return 0, 1
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()
# --8<-- [end:setup]


def save_checkpoint(path, model, optimizer, step, losses, config):
    """Write to a temporary file, then rename: a kill mid-write never leaves a torn checkpoint."""
    trainable = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    torch.save({"model": trainable, "optimizer": optimizer.state_dict(), "step": step, "losses": losses,
                "config": config}, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)


def write_atomically(path, text):
    path.with_suffix(".tmp").write_text(text)
    os.replace(path.with_suffix(".tmp"), path)


def resumable_checkpoint(checkpoint, config, total_steps, fresh):
    """The checkpoint to resume from, or None; refuses one another run wrote."""
    if fresh or not checkpoint.exists():
        return None
    state = torch.load(checkpoint, map_location="cpu")
    if state.get("config") != config:
        raise FieldGuideError(f"{checkpoint} was written by another run ({state.get('config')}, this run: "
                              f"{config}); pass --fresh to start over, or another --out")
    if not 0 < state["step"] <= total_steps:
        raise FieldGuideError(f"{checkpoint} is at step {state['step']} of {total_steps}: not this run's; "
                              "pass --fresh to start over")
    return state


def join_process_group(device, global_batch):
    """(rank, world size, this process's device): one GPU per process, from LOCAL_RANK, under torchrun."""
    rank, world = setup_distributed(device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    if global_batch % world:
        raise FieldGuideError(f"global batch {global_batch} does not split over {world} processes")
    return rank, world, device


def run_config(args, preset, world):
    """What a checkpoint must match to be resumed: the same run, not just the same --out."""
    return {"scale": args.scale, "seed": args.seed, "model": args.model, "world_size": world, **preset,
            "data": None if args.data is None else hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]}


def already_complete(out, state, total_steps, rank):
    """Whether the checkpoint is this run's last step and its results are written (rank 0 says so)."""
    if state is not None and state["step"] == total_steps and (out / "results.json").is_file():
        if rank == 0:
            print(f"the run in {out} is already complete ({total_steps} steps, final training loss "
                  f"{state['losses'][-1]:.5f}); pass --fresh to train again")
        return True
    return False


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    items, n_heldout = instruction_items(args.data, preset["n_heldout"])  # yours: checked first
    rank, world, device = join_process_group(device, preset["global_batch"])
    seed_everything(args.seed)
    train_items, heldout_items = stratified_split(items, n_heldout, seed=args.seed)
    config = run_config(args, preset, world)
    total_steps = preset["epochs"] * -(-min(preset["n_train"], len(train_items)) // preset["global_batch"])
    checkpoint = args.out / "checkpoint.pt"
    state = resumable_checkpoint(checkpoint, config, total_steps, args.fresh)
    if already_complete(args.out, state, total_steps, rank):
        return

    model, tokenizer = load_causal_lm(args.model, device)
    pad = tokenizer.pad_token_id
    train, heldout = encode_items(tokenizer, train_items[:preset["n_train"]], heldout_items)
    model = get_peft_model(model, LORA)  # same seed on every rank: identical initial adapters
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)

    args.out.mkdir(parents=True, exist_ok=True)
    start, losses = resume(model, optimizer, state, checkpoint, rank) if state is not None else (0, [])
    # --8<-- [start:idea]
    ddp = DistributedDataParallel(model) if world > 1 else model

    # every rank walks the same global batches (same seeds) and keeps its own slice
    schedule = [group for epoch in range(preset["epochs"])
                for group in batches(train, preset["global_batch"], seed=args.seed + epoch)]
    assert len(schedule) == total_steps
    started = time.perf_counter()
    ddp.train()
    with tqdm(total=len(schedule), initial=start, desc=f"training ({world} process{'es' * (world > 1)})",
              leave=False, disable=rank != 0) as bar:
        for step in range(start, len(schedule)):
            group = schedule[step]
            n_targets = sum(e.n_response for e in group)  # response tokens in the global batch
            batch = collate(group[rank::world], pad, device)
            logits = ddp(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1]
            token_loss = torch.nn.functional.cross_entropy(
                logits.flatten(0, 1).float(), batch.labels[:, 1:].flatten(), ignore_index=IGNORE, reduction="sum")
            # DDP averages gradients over ranks; scale by world so the result is sum / global tokens
            (token_loss * world / n_targets).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step_loss = token_loss.detach()
            if world > 1:
                dist.all_reduce(step_loss)
            losses.append(step_loss.item() / n_targets)
            if rank == 0 and ((step + 1) % preset["save_every"] == 0 or step + 1 == len(schedule)):
                save_checkpoint(checkpoint, model, optimizer, step + 1, losses, config)
                write_atomically(args.out / "progress.json", json.dumps({"step": step + 1}))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    # --8<-- [end:idea]
    seconds = time.perf_counter() - started

    if rank == 0:
        summary(args, world, device, preset, losses, heldout_loss(model, heldout, pad), seconds, start)
    if world > 1:
        dist.destroy_process_group()


def instruction_items(data, max_heldout):
    """The instructions (the shipped set, or your --data file) and how many of them to hold out."""
    items = instruction_set() if data is None else instruction_pairs(data)
    n_heldout = max_heldout if data is None else min(max_heldout, max(1, len(items) // 4))
    return items, n_heldout


def encode_items(tokenizer, train_items, heldout_items):
    """Training and held-out items, each as encoded prompt + response."""
    train = [encode(tokenizer, it["prompt"], it["response"]) for it in train_items]
    heldout = [encode(tokenizer, it["prompt"], it["response"]) for it in heldout_items]
    return train, heldout


def resume(model, optimizer, state, checkpoint, rank):
    """Load the adapters and optimizer state of a checkpoint; (step to start from, losses so far)."""
    missing, unexpected = model.load_state_dict(state["model"], strict=False)  # only adapters are saved
    wrong = list(unexpected) + [k for k in missing if "lora_" in k]
    if wrong:
        raise FieldGuideError(f"{checkpoint} does not fit this model's adapters ({len(wrong)} keys, e.g. "
                              f"{wrong[0]}); pass --fresh to start over")
    optimizer.load_state_dict(state["optimizer"])
    if rank == 0:
        print(f"resumed from {checkpoint} at step {state['step']}")
    return state["step"], state["losses"]


def summary(args, world, device, preset, losses, final_heldout, seconds, start):
    """Print the run and record what the page reads (rank 0 only)."""
    writer = ResultsWriter(args.out, "fine_tuning_strategies/sft_scale_out", args)
    print(f"SmolLM2 + LoRA, {world} process{'es' * (world > 1)} on {device} "
          f"(backend {dist.get_backend() if world > 1 else 'none'}): {len(losses)} steps of "
          f"{preset['global_batch']} examples, {preset['global_batch'] // world} per process")
    print(f"  losses: {' '.join(f'{x:.4f}' for x in losses)}")
    print(f"  final training loss {losses[-1]:.5f}, held-out loss {final_heldout:.5f}, "
          f"{seconds:.0f} s for steps {start + 1}-{len(losses)}")
    writer.metric("world_size", world)
    writer.metric("steps", len(losses))
    writer.metric("resumed_from", start)
    writer.metric("final_loss", losses[-1], "{:.5f}")
    writer.metric("heldout_loss", final_heldout, "{:.5f}")
    writer.metric("seconds", seconds, "{:.0f} s")
    writer.table("losses", ["step", "training loss"], [[i + 1, x] for i, x in enumerate(losses)],
                 formats=["{}", "{:.5f}"], caption=f"{world} process(es).")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "sft", "the 64 shipped instructions")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore a checkpoint in --out and train from the start")
    run_main(main, parser)
