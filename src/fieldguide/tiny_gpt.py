"""A small decoder-only transformer in plain PyTorch, and cached pre-training on a synthetic world.

``TinyGPT`` is a GPT-2-style model (pre-norm blocks, learned positions, tied input/output
embeddings) whose attention keeps separate ``q``, ``k``, ``v`` and ``o`` projections so a
snippet can put LoRA on them by name. ``pretrain()`` trains one on a ``World``'s
biographies and lexicon prose and caches the checkpoint under
``fieldguide.models.cache_dir() / "tiny_gpt" / <hash>``, where the hash covers the world,
model and training configs, the device and CPU code path, torch's version and this
library's source: a snippet and its test, and several snippets, share one pre-trained model.

The fine-tuning helpers here are the plumbing the lab's snippets share: batching
question -> answer pairs with the loss on answer tokens only, one plain fine-tuning loop,
and greedy exact match.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from fieldguide.models import file_lock, cache_dir
from fieldguide.synthetic_world import World, WorldConfig


def one_thread() -> None:
    """The lab's default: one torch thread (the machine's cores are shared; see CONTRIBUTING)."""
    torch.set_num_threads(int(os.environ.get("FIELDGUIDE_TORCH_THREADS", "1")))


def setup(args) -> torch.device:
    """A lab snippet's start: one torch thread, ``--seed`` everywhere, the ``--device``."""
    from fieldguide.device import pick_device, seed_everything

    one_thread()
    seed_everything(args.seed)
    return pick_device(args.device)


def axes(figsize=(6.4, 3.4)):
    """(figure, axes) for a lab plot, drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, layout="constrained")


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 0  # filled from the world's tokenizer
    n_layer: int = 4
    d_model: int = 64
    n_head: int = 4
    max_len: int = 64


@dataclass(frozen=True)
class PretrainConfig:
    steps: int = 1500
    batch_size: int = 32
    lexicon_per_batch: int = 4  # of each batch, this many lexicon passages; the rest biographies
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup: int = 100
    seed: int = 0


# The shared world, model and pre-training of each scale: every lab snippet at one scale and
# seed uses the same ones, so they share one cached pre-trained checkpoint.
LAB_PRESETS = {
    "ci": {
        "world": WorldConfig(n_people=100, n_absent=50, n_attributes=5, n_values=30, bios_per_person=50,
                             n_lexicon_pairs=48, lexicon_passages=600),
        "model": GPTConfig(n_layer=4, d_model=64, n_head=4, max_len=64),
        "pretrain": PretrainConfig(steps=900, batch_size=32, lexicon_per_batch=6, lr=3e-3, warmup=100),
    },
    "gpu": {
        "world": WorldConfig(n_people=20000, n_absent=2000, n_attributes=6, n_values=100, n_first=200,
                             n_last=200, bios_per_person=20, n_lexicon_pairs=200, lexicon_passages=20000),
        "model": GPTConfig(n_layer=8, d_model=256, n_head=8, max_len=96),
        "pretrain": PretrainConfig(steps=20000, batch_size=256, lexicon_per_batch=16, lr=1e-3, warmup=1000),
    },
}


def lab(scale: str, seed: int = 0, **world_changes) -> tuple[World, GPTConfig, PretrainConfig]:
    """The world (with ``seed`` and any changes, e.g. ``bios_per_person=1``), model and
    pre-training configs of a scale; the pre-training seed follows the world's."""
    preset = LAB_PRESETS[scale]
    world = World(preset["world"].with_(seed=seed, **world_changes))
    return world, preset["model"], PretrainConfig(**{**asdict(preset["pretrain"]), "seed": seed})


def pretrained(scale: str, seed: int, device, **world_changes) -> tuple[World, "TinyGPT", dict]:
    """The world of a scale and seed, and its pre-trained model (cached): ``(world, model, info)``."""
    world, model_config, train_config = lab(scale, seed, **world_changes)
    model, info = pretrain(world, model_config, train_config, device)
    return world, model, info


def describe(scale: str) -> str:
    """One line for --help: what the shared world and model of a scale are."""
    w, m, t = (LAB_PRESETS[scale][k] for k in ("world", "model", "pretrain"))
    return (f"{w.n_people} people (+{w.n_absent} absent) x {w.n_attributes} attributes of {w.n_values} values, "
            f"{w.bios_per_person} biographies each, {w.n_lexicon_pairs} lexicon pairs; GPT {m.n_layer} layers x "
            f"{m.d_model} wide; pre-training {t.steps} steps of {t.batch_size}")


def split_people(world: World):
    """(fine-tuning half, held-out half) of the people in pre-training."""
    present = world.present
    return present[: len(present) // 2], present[len(present) // 2:]


def majority_baseline(world: World, train_people, test_people) -> float:
    """Exact match of always answering each attribute's most common value among ``train_people``."""
    from collections import Counter

    hits = 0
    for a in world.attributes:
        guess = Counter(p.values[a] for p in train_people).most_common(1)[0][0]
        hits += sum(p.values[a] == guess for p in test_people)
    return hits / (len(test_people) * len(world.attributes))


class Attention(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (proj(x).view(b, t, self.n_head, d // self.n_head).transpose(1, 2)
                   for proj in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_head)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size, config.d_model)
        self.pos = nn.Embedding(config.max_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config.d_model, config.n_head) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.tok.weight.T  # tied output embedding

    @property
    def device(self):
        return self.tok.weight.device


def n_params(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def new_model(world: World, config: GPTConfig, seed: int, device) -> TinyGPT:
    """A randomly initialised TinyGPT for ``world``'s vocabulary (the control arm's start);
    ``config`` may be a pre-trained model's ``.config``."""
    torch.manual_seed(seed)
    config = GPTConfig(**{**asdict(config), "vocab_size": len(world.tokenizer)})
    return TinyGPT(config).to(device)


# ---- pre-training (cached) -----------------------------------------------------------------

def cache_root() -> Path:
    return cache_dir() / "tiny_gpt"


def pretrain_key(world_config: WorldConfig, model_config: GPTConfig, train_config: PretrainConfig,
                 device) -> str:
    """Content hash of what decides the checkpoint: the configs, the device and the code path
    it computes on (torch's version and kernel level, thread count, the numerics environment),
    the world generator's source and the source of the model and of the pre-training loop.
    Another code path pre-trains anew: a checkpoint from one would hide the other's trajectory."""
    import inspect

    from fieldguide import synthetic_world
    from fieldguide.device import numerics_environment

    device = torch.device(device)
    path = torch.backends.cpu.get_cpu_capability() if device.type == "cpu" else torch.version.cuda
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(world_config), asdict(model_config), asdict(train_config), device.type,
                              torch.__version__, path, torch.get_num_threads(), numerics_environment()],
                             sort_keys=True).encode())
    digest.update(inspect.getsource(synthetic_world).encode())
    for part in (Attention, Block, TinyGPT, new_model, pad_rows, _pretrain):
        digest.update(inspect.getsource(part).encode())
    return digest.hexdigest()[:20]


def pad_rows(rows: Sequence[Sequence[int]], width: int | None = None, value: int = 0) -> torch.Tensor:
    width = width or max(len(r) for r in rows)
    return torch.tensor([list(r[:width]) + [value] * (width - len(r[:width])) for r in rows])


def pretrain(world: World, model_config: GPTConfig, train_config: PretrainConfig, device,
             progress: bool = True) -> tuple[TinyGPT, dict]:
    """Pre-train on the world's biographies and lexicon prose, or load the cached checkpoint.

    Returns ``(model, info)``; ``info`` has the loss curve, the seconds the training took
    (when it ran, not when it was loaded) and whether it came from the cache.
    """
    device = torch.device(device)
    key = pretrain_key(world.config, model_config, train_config, device)
    folder = cache_root() / key
    model = new_model(world, model_config, train_config.seed, device)
    with file_lock(cache_root() / f".{key}.lock"):
        if (folder / "model.pt").is_file():
            model.load_state_dict(torch.load(folder / "model.pt", map_location=device))
            info = json.loads((folder / "info.json").read_text())
            info["cached"] = True
            model.eval()
            return model, info
        info = _pretrain(world, model, train_config, progress)
        tmp = folder.with_name(folder.name + ".partial")
        tmp.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), tmp / "model.pt")
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        os.replace(tmp, folder)
    info["cached"] = False
    model.eval()
    return model, info


def _pretrain(world: World, model: TinyGPT, tc: PretrainConfig, progress: bool) -> dict:
    from tqdm.auto import tqdm

    tok, width = world.tokenizer, model.config.max_len
    bios = pad_rows([tok.encode(b, bos=True, eos=True) for b in world.biographies()], width).int()
    lexicon = [tok.encode(p, bos=True, eos=True) for p in world.lexicon_passages()]
    lexicon = pad_rows(lexicon, width).int() if lexicon else None
    n_lex = tc.lexicon_per_batch if lexicon is not None else 0
    generator = torch.Generator().manual_seed(tc.seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / tc.warmup) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, s / tc.steps))))
    losses, started = [], time.perf_counter()
    model.train()
    for step in tqdm(range(tc.steps), desc="pre-training", disable=not progress, mininterval=2):
        # Documents are drawn at random from the whole corpus: biographies are shuffled
        # across people (replications of Physics of LMs 3.1 find this essential).
        rows = bios[torch.randint(len(bios), (tc.batch_size - n_lex,), generator=generator)]
        if n_lex:
            rows = torch.cat([rows, lexicon[torch.randint(len(lexicon), (n_lex,), generator=generator)]])
        rows = rows[:, : int((rows != 0).sum(1).max())].long().to(model.device)
        logits = model(rows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1),
                               ignore_index=tok.pad_id)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(round(loss.item(), 4))
    model.eval()
    seconds = time.perf_counter() - started
    return {"losses": losses, "seconds": round(seconds, 1), "ms_per_step": round(1000 * seconds / tc.steps, 1),
            "n_params": n_params(model), "n_biographies": len(bios), "n_lexicon_passages": 0 if lexicon is None else len(lexicon)}


# ---- fine-tuning plumbing ------------------------------------------------------------------

Example = tuple[list[int], list[int]]  # (prompt ids, answer ids)


def encode_pairs(world: World, pairs: Iterable[tuple[str, str]]) -> list[Example]:
    """(prompt text, answer text) -> (``<bos>`` + prompt ids, answer ids + ``<eos>``)."""
    tok = world.tokenizer
    return [(tok.encode(q, bos=True), tok.encode(a, eos=True)) for q, a in pairs]


def collate(examples: Sequence[Example], device) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for next-token loss on the answer tokens only (-100 elsewhere)."""
    rows = [p + a for p, a in examples]
    targets = [[-100] * (len(p) - 1) + a + [-100] for p, a in examples]
    width = max(len(r) for r in rows)
    return (pad_rows([r[:-1] for r in rows], width - 1).to(device),
            pad_rows(targets, width - 1, -100).to(device))


def answer_loss(model: nn.Module, examples: Sequence[Example]) -> torch.Tensor:
    """Cross-entropy on the answer tokens only: the prompt is context, not a target."""
    inputs, targets = collate(examples, model.device)
    logits = model(inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def fine_tune(model: nn.Module, examples: Sequence[Example], *, steps: int, lr: float,
              batch_size: int = 32, seed: int = 0, params=None, desc: str = "fine-tuning") -> list[float]:
    """AdamW on ``params`` (default: all), random mini-batches, loss on answers only."""
    from tqdm.auto import tqdm

    params = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng, losses = random.Random(seed), []
    model.train()
    for _ in tqdm(range(steps), desc=desc, leave=False, mininterval=2):
        loss = answer_loss(model, rng.choices(examples, k=min(batch_size, len(examples))))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def greedy(model: nn.Module, prompts: Sequence[Sequence[int]], max_new: int, eos_id: int = 2,
           batch_size: int = 512) -> list[list[int]]:
    """Greedy continuations (stopping after ``<eos>``); prompts are batched by length."""
    model.eval()
    out: list[list[int]] = [[] for _ in prompts]
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    for length, members in by_len.items():
        for start in range(0, len(members), batch_size):
            chunk = members[start:start + batch_size]
            ids = torch.tensor([list(prompts[i]) for i in chunk], device=model.device)
            for _ in range(min(max_new, model.config.max_len - length)):
                nxt = model(ids)[:, -1].argmax(-1, keepdim=True)
                ids = torch.cat([ids, nxt], dim=1)
            for row, i in zip(ids[:, length:].tolist(), chunk):
                out[i] = row[: row.index(eos_id) + 1] if eos_id in row else row
    return out


def exact_match(model: nn.Module, examples: Sequence[Example]) -> list[bool]:
    """Whether greedy decoding reproduces each answer exactly, ``<eos>`` included."""
    longest = max(len(a) for _, a in examples)
    answers = greedy(model, [p for p, _ in examples], max_new=longest)
    return [got == want for got, (_, want) in zip(answers, examples)]


def mean(flags: Iterable) -> float:
    flags = list(flags)
    return sum(map(float, flags)) / max(len(flags), 1)


def next_token_logprobs(model: nn.Module, prompts: Sequence[Sequence[int]]) -> torch.Tensor:
    """Log-probabilities over the vocabulary of the token after each prompt, (prompts, vocab).

    Right padding is safe: with causal attention a prompt's last position never sees it. Every
    answer in the lab is one word, so this is the whole answer distribution."""
    ids = pad_rows(prompts).to(model.device)
    logits = model(ids)[torch.arange(len(prompts)), torch.tensor([len(p) - 1 for p in prompts])]
    return F.log_softmax(logits, dim=-1)
