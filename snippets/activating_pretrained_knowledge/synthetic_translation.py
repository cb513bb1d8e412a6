"""The seed's translation story: a few instruction examples unlock word pairs read in prose.

The seed's question: a team pre-trains a language model, then fine-tunes it briefly on a
few translation instructions, and it translates words it was never fine-tuned on. Where
did the translations come from? Here we can check. The tiny GPT's pre-training text
mentions English -> Veltish word pairs in prose ("river is called lumo by those who speak Veltish ."),
never as an instruction. Before fine-tuning, asked "Q : translate river into Veltish . A :",
it just continues the text. After a short fine-tuning on a few pairs in that format, it
translates held-out words. A randomly initialised model given the same fine-tuning
cannot: the pairs it was not shown are knowledge it never had.

    python snippets/activating_pretrained_knowledge/synthetic_translation.py --scale ci
"""

import copy

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "n_tune": 12, "steps": 60, "batch_size": 12, "lr": 3e-4,
           "control_steps": 300, "control_lr": 1e-3},
    "gpu": {"world": lab.describe("gpu"), "seeds": 2, "n_tune": 24, "steps": 200, "batch_size": 24, "lr": 3e-4,
            "control_steps": 1000, "control_lr": 1e-3},
}


def run_seed(args, preset, seed, device):
    """Before, after and the control, on one seed's world and pre-trained model."""
    world, pretrained, info = lab.pretrained(args.scale, seed, device)
    tok = world.tokenizer

    # --8<-- [start:idea]
    # A few pairs in the instruction format for fine-tuning; every other pair is held out.
    pairs = [world.translation(e, t) for e, t in world.lexicon]
    tune, heldout = pairs[: preset["n_tune"]], pairs[preset["n_tune"]:]
    tune_ex, heldout_ex = lab.encode_pairs(world, tune), lab.encode_pairs(world, heldout)

    def continuations(model, examples, n=12):
        return [tok.decode(ids, stop_at_eos=False) for ids in lab.greedy(model, [p for p, _ in examples], max_new=n)]

    before = lab.exact_match(pretrained, heldout_ex)
    before_text = continuations(pretrained, heldout_ex)
    # Latent knowledge: the right Veltish word somewhere in the untuned model's continuation.
    latent = [answer in text.split() for (_, answer), text in zip(heldout, before_text)]

    tuned = copy.deepcopy(pretrained)
    lab.fine_tune(tuned, tune_ex, steps=preset["steps"], lr=preset["lr"],
                  batch_size=preset["batch_size"], seed=seed, desc="fine-tuning on translations")
    after = lab.exact_match(tuned, heldout_ex)
    after_text = continuations(tuned, heldout_ex, n=3)

    control = lab.new_model(world, pretrained.config, seed + 1000, device)
    lab.fine_tune(control, tune_ex, steps=preset["control_steps"], lr=preset["control_lr"],
                  batch_size=preset["batch_size"], seed=seed, desc="control from random init")
    # --8<-- [end:idea]
    print(f"seed {seed}: {len(world.lexicon)} word pairs mentioned in {info['n_lexicon_passages']} prose passages; "
          f"fine-tuning on {len(tune)} pairs, {preset['steps']} steps; {len(heldout)} pairs held out")
    return {"seed": seed, "tune": tune, "heldout": heldout, "before_text": before_text, "after_text": after_text,
            "before": lab.mean(before), "latent": lab.mean(latent), "after": lab.mean(after),
            "control": lab.mean(lab.exact_match(control, heldout_ex)),
            "control_tuned": lab.mean(lab.exact_match(control, tune_ex))}


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "activating_pretrained_knowledge/synthetic_translation", args)
    runs = [run_seed(args, preset, seed, device) for seed in range(args.seed, args.seed + preset["seeds"])]
    first = runs[0]
    for r in runs:
        print(f"seed {r['seed']}: the untuned model's continuation names the right word for {r['latent']:.1%} of "
              f"the held-out pairs; held-out translation exact match: before {r['before']:.3f}, after "
              f"{r['after']:.3f}; random-init control {r['control']:.3f} (it fits its pairs: {r['control_tuned']:.3f})")
    rows = []
    for (question, answer), b, a in list(zip(first["heldout"], first["before_text"], first["after_text"]))[:8]:
        rows.append([question, answer, b.replace("<eos>", "[eos]"), a.replace(" <eos>", "")])
        print(f"  {question}  truth {answer!r}\n      before: {b}\n      after:  {a}")
    writer.table("examples", ["prompt", "truth", "pre-trained model, before fine-tuning",
                              "after fine-tuning"], rows,
                 caption=f"Held-out word pairs (never in the fine-tuning data), seed {first['seed']}. Before, "
                         "the model continues the text; after, it answers.")
    n_tune = len(first["tune"])
    seeds = [r["seed"] for r in runs]
    writer.table("summary", ["model", *(f"seed {s}" for s in seeds), "mean"], [
        [label, *(r[key] for r in runs), sum(r[key] for r in runs) / len(runs)]
        for label, key in (("pre-trained, before fine-tuning", "before"),
                           (f"pre-trained + {n_tune} translation examples", "after"),
                           (f"random init + the same {n_tune} examples", "control"))],
        formats=["{}"] + ["{:.3f}"] * (len(runs) + 1), caption="Exact match on the held-out word pairs.")
    writer.metric("seeds", ", ".join(map(str, seeds)))
    writer.metric("n_tune", n_tune)
    writer.metric("n_heldout", len(first["heldout"]))
    for key in ("before", "latent", "after", "control", "control_tuned"):
        values = [r[key] for r in runs]
        writer.metric(key, sum(values) / len(values), "{:.1%}")
        writer.metric(f"{key}_min", min(values), "{:.1%}")
        writer.metric(f"{key}_max", max(values), "{:.1%}")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
