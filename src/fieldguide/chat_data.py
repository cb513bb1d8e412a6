"""Chat-formatted training data for generative fine-tuning: prompts, masks, log-probs.

Shared plumbing of the SFT, DPO and probing snippets. The teaching code (training loops,
LoRA configs, the DPO loss) stays in the snippets; this module only turns
(prompt, response) pairs into token ids with a *response mask*, pads them into batches,
and reads per-token log-probabilities of the response back out of a model.

Data sets written into the repository (``fieldguide/data/``):

* ``instructions.jsonl`` - 64 hand-written instructions with short, direct answers
  (five categories: facts, define, math, rewrite, advice).
* ``preferences.jsonl`` - 40 questions with a concise answer (chosen) and a rambling one
  (rejected), for preference tuning. Each rejected answer is the chosen one wrapped as
  "<opener> The answer to your question is: <chosen> <closer>", with one of eight
  hand-written openers and closers drawn with a fixed seed; the 30 ``train`` pairs use
  openers and closers 1-6, the 10 ``heldout`` pairs only 7-8, which never occur in training.
* ``instruction_tasks.jsonl`` - eight small tasks expressed only by an instruction
  (e.g. "Write the plural of the noun."), 12-16 hand-written examples each.
"""

from __future__ import annotations

import random
import resource
import sys
import threading
import time
from dataclasses import dataclass

from fieldguide.datasets import read_jsonl

IGNORE = -100  # label value that cross-entropy skips


# ---------------------------------------------------------------- data sets
def instruction_set() -> list[dict]:
    """64 instructions with short, direct responses: dicts with category, prompt, response."""
    return read_jsonl("instructions.jsonl")


def preference_pairs() -> list[dict]:
    """Prompts with a concise (chosen) and a rambling (rejected) response."""
    return read_jsonl("preferences.jsonl")


def instruction_tasks() -> list[dict]:
    """Examples of small tasks given only by an instruction: task, instruction, input, output."""
    return read_jsonl("instruction_tasks.jsonl")


def stratified_split(items: list[dict], n_heldout: int, key: str = "category",
                     seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train, held-out): held-out takes items round-robin across ``key`` so every group appears."""
    rng = random.Random(seed)
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item[key], []).append(item)
    for group in groups.values():
        rng.shuffle(group)
    heldout: list[dict] = []
    while len(heldout) < n_heldout and any(groups.values()):
        for name in sorted(groups):
            if groups[name] and len(heldout) < n_heldout:
                heldout.append(groups[name].pop())
    train = [item for group in groups.values() for item in group]
    rng.shuffle(train)
    return train, heldout


# ---------------------------------------------------------------- encoding
def prompt_text(tokenizer, user: str) -> str:
    """The chat template up to and including the assistant's turn header."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)


@dataclass
class Example:
    ids: list[int]
    labels: list[int]  # IGNORE on prompt tokens when the prompt is masked

    @property
    def n_response(self) -> int:
        return sum(label != IGNORE for label in self.labels)


def encode(tokenizer, prompt: str, response: str, mask_prompt: bool = True) -> Example:
    """Prompt (chat-formatted) + response + end-of-turn as ids; labels mask the prompt.

    With ``mask_prompt=False`` every token is a target except the first, as in plain
    language modelling on the whole conversation.
    """
    prompt_ids = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False).input_ids
    response_ids = tokenizer(response + tokenizer.eos_token, add_special_tokens=False).input_ids
    ids = prompt_ids + response_ids
    labels = ([IGNORE] * len(prompt_ids) if mask_prompt else list(prompt_ids)) + response_ids
    return Example(ids, labels)


def continuation(tokenizer, prompt: str, response_ids: list[int]) -> Example:
    """A chat prompt followed by given response token ids (e.g. a model's own generation)."""
    prompt_ids = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False).input_ids
    return Example(prompt_ids + list(response_ids), [IGNORE] * len(prompt_ids) + list(response_ids))


@dataclass
class Batch:
    input_ids: "torch.Tensor"  # noqa: F821
    labels: "torch.Tensor"  # noqa: F821
    attention_mask: "torch.Tensor"  # noqa: F821

    @property
    def n_targets(self) -> int:
        return int((self.labels[:, 1:] != IGNORE).sum())


def collate(examples: list[Example], pad_id: int, device=None) -> Batch:
    """Right-pad to the longest example; padded positions are masked and ignored."""
    import torch

    width = max(len(e.ids) for e in examples)
    input_ids = torch.tensor([e.ids + [pad_id] * (width - len(e.ids)) for e in examples])
    labels = torch.tensor([e.labels + [IGNORE] * (width - len(e.labels)) for e in examples])
    attention = torch.tensor([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in examples])
    return Batch(input_ids.to(device), labels.to(device), attention.to(device))


def batches(examples: list, batch_size: int, seed: int | None = None):
    """Consecutive batches, shuffled with ``seed`` (None keeps the order)."""
    order = list(range(len(examples)))
    if seed is not None:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [examples[i] for i in order[start:start + batch_size]]


# ---------------------------------------------------------------- log-probs
def token_logprobs(model, batch: Batch):
    """(log p of each target token, mask of targets), both [batch, length-1]; keeps grad."""
    import torch

    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1]
    targets = batch.labels[:, 1:]
    mask = targets != IGNORE
    logp = torch.log_softmax(logits.float(), dim=-1)
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return picked * mask, mask


def sequence_logprobs(model, batch: Batch):
    """Summed log-probability of each example's target tokens, shape [batch]; keeps grad."""
    picked, _ = token_logprobs(model, batch)
    return picked.sum(dim=1)


def heldout_loss(model, examples: list[Example], pad_id: int, batch_size: int = 16) -> float:
    """Mean cross-entropy per target token over ``examples`` (no grad, eval mode)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for group in batches(examples, batch_size):
            batch = collate(group, pad_id, model.device)
            picked, mask = token_logprobs(model, batch)
            total -= float(picked.sum())
            count += int(mask.sum())
    model.train(was_training)
    return total / max(count, 1)


def greedy_token_ids(model, tokenizer, texts: list[str], max_new_tokens: int,
                     batch_size: int = 32) -> list[list[int]]:
    """Greedy continuations of ready-made prompt texts: the new token ids of each, in order
    (end-of-turn and the padding after it included, as ``model.generate`` returns them).

    Chat prompts share their opening (the system turn): it is encoded once and its keys and
    values are copied to every row. Each row holds the shared opening, its padding, then the
    rest of its prompt; the attention mask hides the padding and the position ids skip it, so
    every row sees the positions it would see alone. Prompts are batched by length, which
    keeps padding short; the answers come back in the order of ``texts``."""
    import copy

    import torch

    ids = [tokenizer(t, add_special_tokens=False).input_ids for t in texts]
    shared = 0  # the longest common opening that leaves every prompt at least one token of its own
    while ids and all(len(row) > shared + 1 and row[shared] == ids[0][shared] for row in ids):
        shared += 1
    pad, device = tokenizer.pad_token_id, model.device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        opening = model(input_ids=torch.tensor([ids[0][:shared]], device=device), use_cache=True).cache \
            if shared else None
        out: list[list[int] | None] = [None] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(ids[i]) for i in rows) - shared
            gaps = [width - (len(ids[i]) - shared) for i in rows]
            input_ids = torch.tensor([ids[i][:shared] + [pad] * g + ids[i][shared:] for i, g in zip(rows, gaps)])
            mask = torch.tensor([[1] * shared + [0] * g + [1] * (len(ids[i]) - shared) for i, g in zip(rows, gaps)])
            extra = {}
            if opening is not None:
                cache = copy.deepcopy(opening)
                cache.batch_repeat_interleave(len(rows))
                extra["cache"] = cache
            new = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                                 **extra)[:, input_ids.shape[1]:]
            for i, row in zip(rows, new.tolist()):
                out[i] = row
    model.train(was_training)
    return out


def generate(model, tokenizer, prompts: list[str], max_new_tokens: int,
             batch_size: int = 32) -> list[list[int]]:
    """Greedy continuations (token ids, up to and without the end-of-turn) for chat prompts."""
    rows = greedy_token_ids(model, tokenizer, [prompt_text(tokenizer, p) for p in prompts],
                            max_new_tokens, batch_size)
    return [row[:row.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in row else row for row in rows]


def supervised_fine_tune(model, examples: list[Example], pad_id: int, lr: float, epochs: int,
                         batch_size: int, seed: int = 0, desc: str = "fine-tuning") -> list[float]:
    """The plain SFT loop (AdamW, cross-entropy on labelled tokens); returns per-step losses.

    Written out step by step in ``snippets/fine_tuning_standard_adaptation_llms/``; other
    snippets, whose subject is what happens *after* fine-tuning, call it from here.
    """
    import torch
    from tqdm.auto import tqdm

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses: list[float] = []
    with tqdm(total=epochs * -(-len(examples) // batch_size), desc=desc, leave=False) as bar:
        for epoch in range(epochs):
            for group in batches(examples, batch_size, seed=seed + epoch):
                batch = collate(group, pad_id, model.device)
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


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- memory
class PeakMemory:
    """Peak memory of a block: CUDA allocator peak on a GPU, else sampled resident memory.

    On CPU a thread samples the process's resident set every 5 ms; ``peak_mb`` is the
    highest value seen above the level at entry (what the block added).
    """

    def __init__(self, device):
        self.device = device
        self.peak_mb = 0.0

    def __enter__(self):
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = _rss_bytes()
            self._peak = self._base
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, _rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc):
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, _rss_bytes())
        self.peak_mb = (peak - self._base) / 2**20
        return False


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize()
    except OSError:  # not Linux: the lifetime peak is the best we have
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
