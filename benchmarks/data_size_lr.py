"""Learning rate of each recipe of the data-size snippet, chosen the same way for both.

``snippets/evaluating_researchers_conclusion/synthetic_data_size.py`` runs two recipes (full
fine-tuning, question words only), each with one learning rate at every data size. This
benchmark chooses each recipe's rate on a grid of the same size (five values, half a decade
apart) by one protocol, and records the result in ``benchmarks/results/data_size_lr.json``;
the snippet's ``PRESETS`` use the chosen values (a test checks that they agree):

* only the fine-tuning half of the people is used; the held-out half, which the snippet
  reports, is never trained on nor scored here;
* the fine-tuning half, in the snippet's order, is split in two: the first half of it
  (every question about each) is the training pool, the second half is the validation set;
* for every rate, the recipe is fine-tuned exactly as in the snippet (same steps, batch and
  seed) on the first 5, 15, 50 and all examples of the pool, and scored by exact match on
  the validation people; the rate with the best mean over sizes and the ``ci`` preset's two
  seeds is chosen.

    python benchmarks/data_size_lr.py              # ci scale, seeds 0 and 1 (about 4 minutes, one thread)
    python benchmarks/data_size_lr.py --report     # print the recorded results again
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import platform
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SNIPPET = REPO / "snippets" / "evaluating_researchers_conclusion" / "synthetic_data_size.py"
RECORD = REPO / "benchmarks" / "results" / "data_size_lr.json"

# Five values half a decade apart for each recipe, centred on where each one trains at all.
GRIDS = {
    "full fine-tuning": [3e-5, 1e-4, 3e-4, 1e-3, 3e-3],
    "question words only": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
}
SIZES = [5, 15, 50, None]  # None: the whole training pool


def load_snippet():
    spec = importlib.util.spec_from_file_location("synthetic_data_size", SNIPPET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def validation_accuracy(snippet, lab, preset, recipe, lr, pretrained, world, pool, val, n, seed) -> float:
    model = copy.deepcopy(pretrained)
    if recipe == "question words only":
        snippet.question_words_only(model, world)
    lab.fine_tune(model, pool[:n], steps=preset["steps"], lr=lr, batch_size=preset["batch_size"], seed=seed,
                  desc=f"seed {seed}, {recipe}, lr {lr:g}, {n} examples")
    return lab.mean(lab.exact_match(model, val))


def measure(seeds: list[int]) -> dict:
    import torch

    snippet = load_snippet()
    lab = snippet.lab
    lab.one_thread()
    preset = snippet.PRESETS["ci"]
    device = torch.device("cpu")
    started = time.perf_counter()
    scores = {r: {f"{lr:g}": {} for lr in grid} for r, grid in GRIDS.items()}  # recipe -> lr -> seed -> sizes
    for seed in seeds:
        world, pretrained, _ = lab.pretrained("ci", seed, device)
        tuned_people, _heldout = lab.split_people(world)  # the held-out half is never touched here
        people = random.Random(seed).sample(tuned_people, len(tuned_people))  # the snippet's order
        train, val = people[: len(people) // 2], people[len(people) // 2:]
        pool = lab.encode_pairs(world, world.qa_pairs(train))
        val_ex = lab.encode_pairs(world, world.qa_pairs(val))
        for recipe, grid in GRIDS.items():
            for lr in grid:
                row = {}
                for size in SIZES:
                    n = len(pool) if size is None else size
                    row[str(n)] = validation_accuracy(snippet, lab, preset, recipe, lr, pretrained, world, pool,
                                                      val_ex, n, seed)
                scores[recipe][f"{lr:g}"][str(seed)] = row
                print(f"seed {seed}, {recipe:>19}, lr {lr:<6g}: " + ", ".join(f"{n} examples {v:.3f}"
                                                                          for n, v in row.items()), flush=True)
    chosen, means = {}, {}
    for recipe, by_lr in scores.items():
        means[recipe] = {lr: sum(v for row in by_seed.values() for v in row.values())
                         / sum(len(row) for row in by_seed.values()) for lr, by_seed in by_lr.items()}
        best = max(means[recipe], key=means[recipe].get)
        chosen[recipe] = float(best)
    return {
        "protocol": (f"ci scale, seeds {seeds}; fine-tuning half split in two by person (the snippet's order): "
                     f"train on its first 5, 15, 50, all examples, score exact match on the other people; "
                     f"the held-out half is never used; steps {preset['steps']}, batch {preset['batch_size']}; "
                     f"chosen: best mean over sizes and seeds"),
        "grids": GRIDS, "sizes": SIZES, "seeds": seeds, "scores": scores, "mean": means, "chosen": chosen,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(),
                    "threads": torch.get_num_threads(), "python": platform.python_version()},
    }


def report(record: dict) -> None:
    for recipe, means in record["mean"].items():
        print(f"{recipe}: " + ", ".join(f"lr {lr} {m:.3f}" for lr, m in means.items())
              + f"  -> chosen {record['chosen'][recipe]:g}")
    print(f"({record['protocol']}; {record['seconds']} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--report", action="store_true", help="only print the recorded results")
    parser.add_argument("--record", type=Path, default=RECORD)
    args = parser.parse_args()
    if args.report:
        if not args.record.is_file():
            print(f"error: no recorded results at {args.record}", file=sys.stderr)
            return 2
        report(json.loads(args.record.read_text()))
        return 0
    record = measure(args.seeds)
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=1) + "\n")
    report(record)
    print(f"recorded in {args.record}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
