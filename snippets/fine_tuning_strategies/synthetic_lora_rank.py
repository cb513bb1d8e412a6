"""How few parameters: LoRA rank matters little when fine-tuning only has to activate.

LoRA (arXiv 2106.09685) and intrinsic dimension (arXiv 2012.13255) in miniature. The
question-answering fine-tuning of the activation lab (a tiny GPT pre-trained on a
synthetic world's biographies) is done with LoRA adapters of rank 1, 2, 4, 8 and 32 on
the query and value projections of every block, and with full fine-tuning, both from the
pre-trained model and from a random initialisation. We count the trainable parameters
each needs to reach 90 % of what full fine-tuning reaches on the same questions.

    python snippets/fine_tuning_strategies/synthetic_lora_rank.py --scale ci
"""

import copy
import math

import torch
import torch.nn as nn

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "ranks": [1, 2, 4, 8, 32], "control_ranks": [1, 4, 32],
           "steps": 300, "batch_size": 32, "lora_lr": 3e-3, "full_lr": 3e-4, "control_full_lr": 1e-3},
    "gpu": {"world": lab.describe("gpu"), "seeds": 2, "ranks": [1, 2, 4, 8, 64], "control_ranks": [1, 8, 64],
            "steps": 3000, "batch_size": 128, "lora_lr": 3e-3, "full_lr": 3e-4, "control_full_lr": 1e-3},
}


# --8<-- [start:idea]
class LoRALinear(nn.Module):
    """y = W x + (alpha / r) B A x, with W frozen. B starts at zero: training starts at W."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.A = nn.Parameter(torch.randn(r, base.in_features, device=base.weight.device) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, device=base.weight.device))

    def forward(self, x):
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale


def add_lora(model, r, targets=("q", "v")):
    """Freeze every weight, then wrap the named attention projections with rank-r adapters."""
    for p in model.parameters():
        p.requires_grad_(False)
    for block in model.blocks:
        for name in targets:
            setattr(block.attn, name, LoRALinear(getattr(block.attn, name), r, alpha=2 * r))
    return model
# --8<-- [end:idea]


# --8<-- [start:sweep]
def sweep(start, ranks, lora_lr, full_lr, qa, preset, seed):
    """Fine-tune copies of ``start``: LoRA at each rank, then full; exact match per set."""
    results = []
    for r in [*ranks, "full"]:
        model = copy.deepcopy(start)
        if r != "full":
            add_lora(model, r)
        lab.fine_tune(model, qa["tuned"], steps=preset["steps"], lr=full_lr if r == "full" else lora_lr,
                      batch_size=preset["batch_size"], seed=seed, desc=f"rank {r}")
        results.append({"rank": r, "trainable": lab.n_params(model, trainable_only=True),
                        **{k: lab.mean(lab.exact_match(model, ex)) for k, ex in qa.items()}})
    return results
# --8<-- [end:sweep]


def params_to_reach(results, target):
    """Fewest trainable parameters whose fine-tuned-half score reaches ``target`` (None: none)."""
    reached = [r["trainable"] for r in results if r["tuned"] >= target]
    return min(reached) if reached else None


def run_seed(args, preset, seed, device):
    """Both sweeps (pre-trained, random init) on one seed's world and pre-trained model."""
    world, pretrained, info = lab.pretrained(args.scale, seed, device)
    tuned_people, heldout = lab.split_people(world)
    qa = {"tuned": lab.encode_pairs(world, world.qa_pairs(tuned_people)),
          "heldout": lab.encode_pairs(world, world.qa_pairs(heldout))}
    return lab.n_params(pretrained), {
        "pre-trained": sweep(pretrained, preset["ranks"], preset["lora_lr"], preset["full_lr"], qa, preset, seed),
        "random init": sweep(lab.new_model(world, pretrained.config, seed + 1000, device), preset["control_ranks"],
                             preset["lora_lr"], preset["control_full_lr"], qa, preset, seed),
    }


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "fine_tuning_strategies/synthetic_lora_rank", args)
    seeds = list(range(args.seed, args.seed + preset["seeds"]))
    per_seed = [run_seed(args, preset, seed, device) for seed in seeds]
    n_model = per_seed[0][0]
    # The mean over seeds of each (start, rank): one seed is one pre-training trajectory.
    arms = {arm: [{"rank": r["rank"], "trainable": r["trainable"],
                   **{k: sum(run[arm][i][k] for _, run in per_seed) / len(seeds) for k in ("tuned", "heldout")}}
                  for i, r in enumerate(results)] for arm, results in per_seed[0][1].items()}
    rows = []
    for arm, results in arms.items():
        for r in results:
            label = "full fine-tuning" if r["rank"] == "full" else f"LoRA r={r['rank']} (q, v)"
            rows.append([arm, label, r["trainable"], r["tuned"], r["heldout"]])
            print(f"{arm:>12}, {label:>18}: {r['trainable']:>7,} trainable; fine-tuned half {r['tuned']:.3f}, "
                  f"held-out half {r['heldout']:.3f}")
    writer.table("ranks", ["start", "fine-tuning", "trainable parameters", "fine-tuned half", "held-out half"],
                 rows, formats=["{}", "{}", "{:,}", "{:.3f}", "{:.3f}"],
                 caption=f"Exact match after {preset['steps']} steps, mean over seeds "
                         f"{', '.join(map(str, seeds))}; the model has {n_model:,} parameters.")
    pre, rnd = arms["pre-trained"], arms["random init"]
    lora_held = [r["heldout"] for r in pre[:-1]]
    writer.metric("lora_r2_up_spread", max(lora_held[1:]) - min(lora_held[1:]), "{:.1%}")
    writer.metric("seeds", ", ".join(map(str, seeds)))
    writer.metric("n_params", n_model, "{:,}")
    writer.metric("full_heldout", pre[-1]["heldout"], "{:.1%}")
    writer.metric("lora_heldout_min", min(lora_held), "{:.1%}")
    writer.metric("lora_heldout_max", max(lora_held), "{:.1%}")
    writer.metric("lora_r2_up_heldout_min", min(lora_held[1:]), "{:.1%}")
    writer.metric("lora_r2_up_heldout_max", max(lora_held[1:]), "{:.1%}")
    writer.metric("rank1_heldout", pre[0]["heldout"], "{:.1%}")
    writer.metric("rank1_trainable", pre[0]["trainable"], "{:,}")
    writer.metric("random_full_tuned", rnd[-1]["tuned"], "{:.1%}")
    writer.metric("random_rank1_tuned", rnd[0]["tuned"], "{:.1%}")
    writer.metric("random_best_lora_tuned", max(r["tuned"] for r in rnd[:-1]), "{:.1%}")
    # One target for both starts: 90 % of what full fine-tuning of the pre-trained model
    # reaches on the questions it was fine-tuned on.
    target = 0.9 * pre[-1]["tuned"]
    writer.metric("target_90", target, "{:.1%}")
    shown = []
    for arm, results in arms.items():
        needed = params_to_reach(results, target)
        text = f"{needed:,}" if needed else f"not reached (best {max(r['tuned'] for r in results):.1%})"
        key = arm.split()[0].replace('-', '')
        writer.metric(f"{key}_params_for_90", needed or text, "{:,}" if needed else "{}")
        writer.metric(f"{key}_reached_90", needed is not None)
        shown.append(f"{arm} {text}")
    print(f"trainable parameters to reach {target:.1%} on the fine-tuned questions: {', '.join(shown)}")
    plot(writer, arms)
    writer.save()


def plot(writer, arms):
    fig, ax = lab.axes((6.6, 3.6))
    colours = {"pre-trained": "#2e7d32", "random init": "#c62828"}
    for arm, results in arms.items():
        x = [r["trainable"] for r in results]
        ax.plot(x, [r["tuned"] for r in results], "o-", color=colours[arm], label=f"{arm}: fine-tuned half")
        if arm == "pre-trained":
            ax.plot(x, [r["heldout"] for r in results], "o--", color=colours[arm], alpha=0.6,
                    label=f"{arm}: held-out half")
        for r in results:
            ax.annotate("full" if r["rank"] == "full" else f"r={r['rank']}", (r["trainable"], r["tuned"]),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (LoRA on q, v; last point: full fine-tuning)")
    ax.set_ylabel("exact match")
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8, loc="center right")
    writer.figure("ranks", fig, caption="From pre-trained weights, adapters of every rank land near full "
                                        "fine-tuning; from random weights nothing fits the questions in the same steps.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
