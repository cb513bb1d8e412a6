"""Stored but not extractable: one biography per person vs several rephrased ones.

Physics of Language Models 3.1 (arXiv 2309.14316) in miniature. Two tiny GPTs are
pre-trained on the same people with the same token budget:

* single: one fixed biography per person, read over and over;
* augmented: 50 biographies per person, each with other templates and another sentence order.

Both memorise their biographies (probed by reading a training biography and predicting
each attribute value). Then both get the same QA fine-tuning on half the people. Only the
augmented model answers for the held-out half: the single model stored the facts in a
form that fine-tuning extracts little of.

    python snippets/activating_pretrained_knowledge/synthetic_extractability.py --scale ci
"""

import copy

import torch

from fieldguide import ResultsWriter, run_main, seed_everything, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "steps": 300, "batch_size": 32, "lr": 3e-4},
    "gpu": {"world": lab.describe("gpu"), "seeds": 2, "steps": 3000, "batch_size": 128, "lr": 3e-4},
}
ARMS = {"single": 1, "augmented": None}  # biographies per person (None: the scale's default)


# --8<-- [start:probe]
@torch.no_grad()
def biography_recall(model, world, docs):
    """The memorisation probe: read a training biography; is each value the top prediction?

    Returns, per attribute, the fraction of people whose value the model predicts from the
    words before it in its own biography.
    """
    hits = {a: [] for a in world.attributes}
    for person, sentences in docs:
        ids, positions = [world.tokenizer.bos_id], {}
        for attribute, sentence in sentences:
            words = sentence.split()
            positions[attribute] = len(ids) + words.index(person.values[attribute])
            ids += world.tokenizer.encode(sentence)
        ids = torch.tensor([ids], device=model.device)
        predicted = model(ids)[0].argmax(-1)  # predicted[i] is the guess for token i + 1
        for attribute, position in positions.items():
            hits[attribute].append(bool(predicted[position - 1] == ids[0, position]))
    return {a: lab.mean(h) for a, h in hits.items()}
# --8<-- [end:probe]


def run_arm(scale, preset, seed, bios_per_person, device):
    # --8<-- [start:idea]
    changes = {"bios_per_person": bios_per_person} if bios_per_person else {}
    world, model, info = lab.pretrained(scale, seed, device, **changes)
    # One training biography per person (the first one the corpus holds for them).
    first_bio = {}
    for person, sentences in world.biography_docs():
        first_bio.setdefault(person.index, (person, sentences))
    recall = biography_recall(model, world, list(first_bio.values()))
    tuned_people, heldout = lab.split_people(world)
    tuned = copy.deepcopy(model)
    lab.fine_tune(tuned, lab.encode_pairs(world, world.qa_pairs(tuned_people)), steps=preset["steps"],
                  lr=preset["lr"], batch_size=preset["batch_size"], seed=seed)
    per_attribute = {}
    for a in world.attributes:
        examples = lab.encode_pairs(world, [world.qa(p, a) for p in heldout])
        per_attribute[a] = lab.mean(lab.exact_match(tuned, examples))
    # --8<-- [end:idea]
    return world, {
        "recall": recall, "heldout": per_attribute,
        "memorised": lab.mean(recall.values()), "extracted": lab.mean(per_attribute.values()),
        "tuned": lab.mean(lab.exact_match(tuned, lab.encode_pairs(world, world.qa_pairs(tuned_people)))),
        "n_biographies": info["n_biographies"], "cached": info["cached"], "seconds": info["seconds"],
    }


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "activating_pretrained_knowledge/synthetic_extractability", args)
    seeds = list(range(args.seed, args.seed + preset["seeds"]))
    runs = {}
    for seed in seeds:
        for arm, bios in ARMS.items():
            seed_everything(seed)
            world, runs[arm, seed] = run_arm(args.scale, preset, seed, bios, device)
            r = runs[arm, seed]
            print(f"seed {seed}, {arm:>9} ({r['n_biographies']:>5} biographies): memorised "
                  f"{r['memorised']:.3f}, fine-tuned half {r['tuned']:.3f}, held-out QA {r['extracted']:.3f}")
    seed_rows = [[seed, arm, runs[arm, seed]["n_biographies"], runs[arm, seed]["memorised"],
                  runs[arm, seed]["tuned"], runs[arm, seed]["extracted"]] for seed in seeds for arm in ARMS]
    writer.table("seeds", ["seed", "pre-training", "biographies", "memorised (biography recall)",
                           "fine-tuned half (QA)", "held-out half (QA)"], seed_rows,
                 formats=["{}", "{}", "{:,}", "{:.3f}", "{:.3f}", "{:.3f}"],
                 caption="Same people, same number of pre-training steps and tokens; only the biographies differ.")

    def avg(arm, part, attribute):
        return sum(runs[arm, s][part][attribute] for s in seeds) / len(seeds)

    rows = [[a.replace("_", " "), *[avg(arm, part, a) for arm in ARMS for part in ("recall", "heldout")]]
            for a in world.attributes]
    writer.table("per_attribute", ["attribute", "single: memorised", "single: held-out QA",
                                   "augmented: memorised", "augmented: held-out QA"], rows,
                 formats=["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}"],
                 caption=f"Mean over seeds {', '.join(map(str, seeds))}.")
    print("\nper attribute (mean over seeds): memorised / held-out QA")
    for row in rows:
        print(f"  {row[0]:>13}: single {row[1]:.2f} / {row[2]:.2f}   augmented {row[3]:.2f} / {row[4]:.2f}")
    for arm in ARMS:
        for part in ("memorised", "extracted", "tuned"):
            values = [runs[arm, s][part] for s in seeds]
            writer.metric(f"{arm}_{part}", sum(values) / len(values), "{:.1%}")
            writer.metric(f"{arm}_{part}_min", min(values), "{:.1%}")
            writer.metric(f"{arm}_{part}_max", max(values), "{:.1%}")
    writer.metric("seeds", ", ".join(map(str, seeds)))
    plot(writer, runs, seeds)
    writer.save()


def plot(writer, runs, seeds):
    fig, ax = lab.axes((6.4, 3.4))
    for i, arm in enumerate(ARMS):
        for j, (part, label, colour) in enumerate((("memorised", "memorised its biographies", "#607d8b"),
                                                    ("extracted", "answers held-out people (QA)", "#2e7d32"))):
            values = [runs[arm, s][part] for s in seeds]
            x = i + (j - 0.5) * 0.36
            ax.bar(x, sum(values) / len(values), width=0.34, color=colour, label=label if i == 0 else None)
            ax.scatter([x] * len(values), values, color="black", s=12, zorder=3)
    ax.set_xticks(range(len(ARMS)), ["one biography per person", "50 rephrased, re-ordered"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("exact match")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("stored is not the same as extractable")
    writer.figure("memorisation", fig, caption="Bars: mean over seeds; dots: each seed. Both models memorise; "
                                               "only the augmented one lets fine-tuning extract the facts.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
