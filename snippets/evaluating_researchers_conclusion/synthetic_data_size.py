"""How little data: format and knowledge against the number of fine-tuning examples.

LIMA (arXiv 2305.11206) in miniature. The tiny GPT pre-trained on a synthetic world's
biographies is fine-tuned on 0, 5, 15, 50, 125 or all question -> answer examples about
half of its people (every question type equally often), and asked about the other half.
Each greedy answer is read twice:

* format: the answer is one of the world's values for the attribute asked about (a year
  for "in which year", a university for "which university", ...), then <eos>: a
  well-formed answer of the right type, right or wrong;
* knowledge: the answer is that person's value (exact match).

The superficial-alignment hypothesis says the format comes from few examples while the
knowledge is whatever pre-training stored: so the format curve should saturate first, and
people who were never in pre-training should get well-formed but wrong answers however
many examples there are.

Two recipes, each used unchanged at every size (same steps, batch and seed):

* full fine-tuning: every weight;
* question words only: only the input/output embeddings of the words the questions are
  written in ("Q", "which", "company", "A", ":", ...) and of <eos> are trained. It can learn
  the question format but has almost nothing with which to memorise answers.

Each recipe's learning rate was chosen by ``benchmarks/data_size_lr.py`` (recorded in
``benchmarks/results/data_size_lr.json``) the same way: five values half a decade apart,
scored on people of the fine-tuning half left out of training, never on the held-out
people reported here. The gpu preset uses the rates chosen at ci scale.

    python snippets/evaluating_researchers_conclusion/synthetic_data_size.py --scale ci
"""

import copy
import random

import torch

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide import tiny_gpt as lab
from fieldguide.synthetic_world import QUESTIONS

LR = {"full fine-tuning": 3e-4, "question words only": 1e-2}  # chosen by benchmarks/data_size_lr.py
PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "sizes": [0, 5, 15, 50, 125, None], "steps": 300, "batch_size": 32,
           "lr": LR},
    "gpu": {"world": lab.describe("gpu"), "seeds": 2, "sizes": [0, 6, 30, 120, 1200, 12000, None], "steps": 3000,
            "batch_size": 128, "lr": LR},
}
READINGS = ["format", "knowledge", "absent format", "absent knowledge"]  # each point of a curve, per recipe


# --8<-- [start:recipe]
def question_words_only(model, world):
    """Freeze every weight but the embedding rows of the question words and <eos>.

    The embedding is tied to the output layer, so these rows are both how the model reads
    the question and how it scores "stop here". Returns the number of trainable numbers."""
    words = {w for a in world.attributes for w in QUESTIONS[a].replace("{name}", " ").split()}
    rows = torch.tensor(sorted(world.tokenizer.stoi[w] for w in words) + [world.tokenizer.eos_id])
    for p in model.parameters():
        p.requires_grad_(False)
    mask = torch.zeros_like(model.tok.weight)
    mask[rows] = 1.0
    model.tok.weight.requires_grad_(True)
    model.tok.weight.register_hook(lambda grad: grad * mask)  # other rows get no gradient
    return len(rows) * model.tok.weight.shape[1]
# --8<-- [end:recipe]


# --8<-- [start:readout]
def readout(model, world, examples):
    """Greedy answers scored twice: (knowledge, format) flags, one per question.

    Examples go person by person, question types in order, so example i asks about
    attribute i % k. Format: the answer is any of the world's values for that attribute,
    then <eos>; knowledge: it is the right one."""
    k, tok = len(world.attributes), world.tokenizer
    well_formed = [{tuple(tok.encode(v, eos=True)) for v in world.pools[a]} for a in world.attributes]
    answers = lab.greedy(model, [p for p, _ in examples], max_new=max(len(a) for _, a in examples))
    knowledge = [got == want for got, (_, want) in zip(answers, examples)]
    form = [tuple(got) in well_formed[i % k] for i, got in enumerate(answers)]
    return knowledge, form
# --8<-- [end:readout]


def run_seed(args, preset, seed, device):
    """Both recipes at every size, from the pre-trained model of one seed's world."""
    world, pretrained, info = lab.pretrained(args.scale, seed, device)
    tuned_people, heldout = lab.split_people(world)
    # People in one fixed random order, every question about each: the first n examples
    # cover every question type evenly, and each larger set contains the smaller ones.
    people = random.Random(seed).sample(tuned_people, len(tuned_people))
    pool = lab.encode_pairs(world, world.qa_pairs(people))
    heldout_ex = lab.encode_pairs(world, world.qa_pairs(heldout))
    absent_ex = lab.encode_pairs(world, world.qa_pairs(world.absent))

    def score(model):
        (known, form), (absent_known, absent_form) = readout(model, world, heldout_ex), readout(model, world, absent_ex)
        return known, {"knowledge": lab.mean(known), "format": lab.mean(form),
                       "absent knowledge": lab.mean(absent_known), "absent format": lab.mean(absent_form)}

    def seen_split(right, n):
        """Held-out accuracy where the true answer was / was not a fine-tuning answer to the
        same question type: a model that learnt the format scores both alike, one that
        learnt answers does better on answers it was trained to give."""
        k = len(world.attributes)  # examples go person by person, question types in order
        trained = [{tuple(pool[j][1]) for j in range(i, n, k)} for i in range(k)]
        seen = [tuple(answer) in trained[i % k] for i, (_, answer) in enumerate(heldout_ex)]
        return tuple(lab.mean(r for r, s in zip(right, seen) if s == want) for want in (True, False))

    run = {"curves": {r: [] for r in preset["lr"]}, "seen": {r: {} for r in preset["lr"]},
           "trainable": {"full fine-tuning": lab.n_params(pretrained)}, "n_params": lab.n_params(pretrained),
           "majority": lab.majority_baseline(world, tuned_people, heldout), "n_pool": len(pool)}
    # --8<-- [start:idea]
    before = score(pretrained)
    for size in preset["sizes"]:
        n = len(pool) if size is None else size
        for recipe, lr in preset["lr"].items():
            right, scores = before
            if n:
                model = copy.deepcopy(pretrained)
                if recipe == "question words only":
                    run["trainable"][recipe] = question_words_only(model, world)
                lab.fine_tune(model, pool[:n], steps=preset["steps"], lr=lr, batch_size=preset["batch_size"],
                              seed=seed, desc=f"seed {seed}, {recipe}, {n} examples")
                right, scores = score(model)
                run["seen"][recipe][n] = seen_split(right, n)
            run["curves"][recipe].append({"n": n, **scores})
            print(f"seed {seed}, {n:>5} examples, {recipe:>19}: held-out people format {scores['format']:.3f} "
                  f"knowledge {scores['knowledge']:.3f}; absent from pre-training format "
                  f"{scores['absent format']:.3f} knowledge {scores['absent knowledge']:.3f}")
    # --8<-- [end:idea]
    return run


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "evaluating_researchers_conclusion/synthetic_data_size", args)
    seeds = list(range(args.seed, args.seed + preset["seeds"]))
    runs = [run_seed(args, preset, seed, device) for seed in seeds]
    recipes = list(preset["lr"])

    # The mean over seeds at each size: one seed's curve is one pre-training trajectory.
    curves = {r: [{"n": point["n"], **{k: average([run["curves"][r][i][k] for run in runs]) for k in READINGS}}
                  for i, point in enumerate(runs[0]["curves"][r])] for r in recipes}
    majority = average([run["majority"] for run in runs])
    summary(writer, preset, runs, curves, seeds=seeds, majority=majority)
    plot(writer, curves, majority)
    writer.save()


def average(values):
    """The arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def summary(writer, preset, runs, curves, *, seeds, majority):
    """Print the seed-averaged curves and record the table and metrics the page reads."""
    recipes = list(preset["lr"])
    trainable = runs[0]["trainable"]
    print(f"mean over seeds {', '.join(map(str, seeds))}; majority-class baseline {majority:.3f}; "
          f"trainable numbers: " + ", ".join(f"{r} {trainable[r]:,}" for r in recipes))

    sizes = [p["n"] for p in curves[recipes[0]]]
    rows = [[n, *(curves[r][i][k] for r in recipes for k in READINGS)] for i, n in enumerate(sizes)]
    writer.table("data_size", ["fine-tuning examples"] + [f"{r}: {k}" for r in recipes for k in READINGS],
                 rows, formats=["{:,}"] + ["{:.1%}"] * len(READINGS) * len(recipes),
                 caption=f"Share of questions answered in the right format (a value of the attribute asked "
                         f"about, then <eos>) and answered right (knowledge: exact match), mean over seeds "
                         f"{', '.join(map(str, seeds))}; every run fine-tunes for {preset['steps']} steps of "
                         f"{preset['batch_size']} from the same pre-trained model. Held-out people were in "
                         f"pre-training; absent people were not. Majority-class baseline {majority:.1%}.")
    writer.metric("seeds", ", ".join(map(str, seeds)))
    writer.metric("full_n", rows[-1][0], "{:,}")
    writer.metric("zero_heldout", curves[recipes[0]][0]["knowledge"], "{:.1%}")
    writer.metric("zero_format", curves[recipes[0]][0]["format"], "{:.1%}")
    writer.metric("majority", majority, "{:.1%}")
    # The highest any seed reached, at any size, with either recipe (not the mean).
    writer.metric("absent_max", max(p["absent knowledge"] for run in runs for r in recipes for p in run["curves"][r]),
                  "{:.1%}")
    writer.metric("n_params", runs[0]["n_params"], "{:,}")
    writer.metric("words_trainable", trainable["question words only"], "{:,}")
    for recipe in recipes:
        key = "full" if recipe == "full fine-tuning" else "words"
        curve = curves[recipe]
        top = curve[-1]["knowledge"]
        writer.metric(f"{key}_lr", preset["lr"][recipe], "{:g}")
        for p in curve:
            writer.metric(f"{key}_{p['n']}", p["knowledge"], "{:.1%}")
            writer.metric(f"{key}_format_{p['n']}", p["format"], "{:.1%}")
            writer.metric(f"{key}_absent_format_{p['n']}", p["absent format"], "{:.1%}")
        for n in (50, 125):
            at = [p["knowledge"] for p in curve if p["n"] == n]
            if at:
                writer.metric(f"{key}_{n}_share", at[0] / top, "{:.0%}")
        # No size-by-size "first to reach 90 %": which size crosses a line is one trajectory's
        # accident; the share of the all-data accuracy at each size is what the page states.
        writer.metric(f"{key}_all", top, "{:.1%}")
        writer.metric(f"{key}_format_all", curve[-1]["format"], "{:.1%}")
        writer.metric(f"{key}_max_minus_all", max(p["knowledge"] for p in curve) - top, "{:.1%}")
        later = [p for p in curve if p["n"] >= 15]
        writer.metric(f"{key}_format_min_from_15", min(p["format"] for p in later), "{:.1%}")
        writer.metric(f"{key}_absent_format_min_from_15", min(p["absent format"] for p in later), "{:.1%}")
        # How far knowledge trails format where the format has just saturated.
        writer.metric(f"{key}_gap_15", [p["format"] - p["knowledge"] for p in curve if p["n"] == 15][0], "{:.1%}")
        if 50 in runs[0]["seen"][recipe]:
            writer.metric(f"{key}_50_seen", average([run["seen"][recipe][50][0] for run in runs]), "{:.1%}")
            writer.metric(f"{key}_50_unseen", average([run["seen"][recipe][50][1] for run in runs]), "{:.1%}")
        print(f"{recipe} (lr {preset['lr'][recipe]:g}): " + ", ".join(
            f"{p['n']} examples format {p['format']:.3f} knowledge {p['knowledge']:.3f}" for p in curve))
    lead = {a["n"]: w["knowledge"] - a["knowledge"]
            for w, a in zip(curves["question words only"], curves["full fine-tuning"])}
    writer.metric("words_lead_min_from_15", min(d for n, d in lead.items() if n >= 15), "{:.1%}")
    if 50 in lead:
        writer.metric("words_lead_50", lead[50], "{:.1%}")


def plot(writer, curves, majority):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, panels = plt.subplots(1, len(curves), figsize=(9.6, 3.6), sharey=True, layout="constrained")
    styles = {"format": ("#8e24aa", "s", "--"), "knowledge": ("#2e7d32", "o", "-")}
    for ax, (recipe, curve) in zip(panels, curves.items()):
        sizes = [p["n"] for p in curve]
        for reading, (colour, marker, line) in styles.items():
            ax.plot(sizes, [p[reading] for p in curve], marker + line, color=colour, label=f"{reading}: held-out people")
            ax.plot(sizes, [p[f"absent {reading}"] for p in curve], marker + line, color=colour, alpha=0.45,
                    markerfacecolor="none", label=f"{reading}: people absent from pre-training")
        ax.axhline(majority, ls=":", color="grey", lw=1, label="majority-class baseline")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(-0.3, 1.5 * max(sizes))
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])  # the sizes that were run
        ax.minorticks_off()
        ax.set_title(recipe, fontsize=10)
        ax.set_xlabel("question-answer examples in fine-tuning")
        ax.set_ylim(0, 1.05)
    panels[0].set_ylabel("share of questions")
    fig.legend(*panels[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7)
    writer.figure("data_size", fig, caption="Format (the answer is a value of the attribute asked about) and "
                                            "knowledge (it is the right value) against the number of fine-tuning "
                                            "examples, for each recipe; faded, open markers: people the model "
                                            "never read about.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
