"""How little data: held-out accuracy against the number of fine-tuning examples.

LIMA (arXiv 2305.11206) in miniature. The tiny GPT pre-trained on a synthetic world's
biographies is fine-tuned on 0, 5, 15, 50, 125 or all question -> answer examples about
half of its people (every question type equally often), and asked about the other half. If fine-tuning mostly activates what
pre-training stored, accuracy should saturate after a few examples; and people who were
never in pre-training should stay near zero however many examples it gets.

    python snippets/evaluating_researchers_conclusion/synthetic_data_size.py --scale ci
"""

import copy
import random

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "sizes": [0, 5, 15, 50, 125, None], "steps": 300, "batch_size": 32,
           "lr": 3e-4},
    "gpu": {"world": lab.describe("gpu"), "sizes": [0, 6, 30, 120, 1200, 12000, None], "steps": 3000,
            "batch_size": 128, "lr": 3e-4},
}


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "evaluating_researchers_conclusion/synthetic_data_size", args)
    world, pretrained, info = lab.pretrained(args.scale, args.seed, device)
    tuned_people, heldout = lab.split_people(world)
    # People in one fixed random order, every question about each: the first n examples
    # cover every question type evenly, and each larger set contains the smaller ones.
    people = random.Random(args.seed).sample(tuned_people, len(tuned_people))
    pool = lab.encode_pairs(world, world.qa_pairs(people))
    heldout_ex = lab.encode_pairs(world, world.qa_pairs(heldout))
    absent_ex = lab.encode_pairs(world, world.qa_pairs(world.absent))
    majority = lab.majority_baseline(world, tuned_people, heldout)

    rows = []
    for size in preset["sizes"]:
        n = len(pool) if size is None else size
        examples = pool[:n]
        model = copy.deepcopy(pretrained)
        if n:
            lab.fine_tune(model, examples, steps=preset["steps"], lr=preset["lr"],
                          batch_size=preset["batch_size"], seed=args.seed, desc=f"fine-tuning on {n}")
        held, absent = lab.mean(lab.exact_match(model, heldout_ex)), lab.mean(lab.exact_match(model, absent_ex))
        rows.append([n, held, absent])
        print(f"{n:>5} fine-tuning examples: held-out people {held:.3f}, people absent from pre-training {absent:.3f}")
    print(f"majority-class baseline: {majority:.3f}")
    writer.table("data_size", ["fine-tuning examples", "held-out people (in pre-training)",
                               "people absent from pre-training"], rows, formats=["{:,}", "{:.3f}", "{:.3f}"],
                 caption=f"Exact match; every run fine-tunes for {preset['steps']} steps from the same "
                         f"pre-trained model. Majority-class baseline {majority:.3f}.")
    full = rows[-1][1]
    writer.metric("full_n", rows[-1][0], "{:,}")
    writer.metric("full_heldout", full, "{:.1%}")
    writer.metric("zero_heldout", rows[0][1], "{:.1%}")
    writer.metric("majority", majority, "{:.1%}")
    writer.metric("absent_max", max(r[2] for r in rows), "{:.1%}")
    smallest = next(r for r in rows if r[1] >= 0.9 * full)
    writer.metric("n_for_90pct", smallest[0], "{:,}")
    writer.metric("acc_at_n_for_90pct", smallest[1], "{:.1%}")
    for n, held, absent in rows:
        writer.metric(f"heldout_{n}", held, "{:.1%}")
    print(f"{smallest[0]} examples reach 90 % of what all {rows[-1][0]} reach ({smallest[1]:.3f} vs {full:.3f})")
    plot(writer, rows, majority)
    writer.save()


def plot(writer, rows, majority):
    fig, ax = lab.axes((6.4, 3.4))
    sizes = [r[0] for r in rows]
    ax.plot(sizes, [r[1] for r in rows], "o-", color="#2e7d32", label="held-out people (in pre-training)")
    ax.plot(sizes, [r[2] for r in rows], "s-", color="#c62828", label="people absent from pre-training")
    ax.axhline(majority, ls="--", color="grey", lw=1, label="majority-class baseline")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("question-answer examples in fine-tuning")
    ax.set_ylabel("exact match")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="center right")
    writer.figure("data_size", fig, caption="Held-out accuracy against the number of fine-tuning examples; people "
                                            "the model never read about stay at the baseline.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
