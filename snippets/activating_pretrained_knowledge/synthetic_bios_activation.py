"""Activation vs teaching: QA fine-tuning unlocks facts a tiny GPT read in pre-training.

A synthetic world of people with five attributes; a tiny GPT pre-trained from scratch on
their biographies (many rephrased, re-ordered ones per person). Then the same short
question-answering fine-tuning is run twice:

* from the pre-trained model, and
* from a random initialisation (the control: fine-tuning has to teach everything).

Both are fine-tuned on the questions of half the people, and asked the same questions
about the other half, whose answers they never saw in a question-answer format. Also
measured: the people who were never in pre-training, and the majority-class baseline.

    python snippets/activating_pretrained_knowledge/synthetic_bios_activation.py --scale ci
"""

import copy
import random
import time

import torch
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, run_main, seed_everything, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "steps": 300, "batch_size": 32,
           "lr": 3e-4, "control_lr": 1e-3},
    "gpu": {"world": lab.describe("gpu"), "seeds": 2, "steps": 3000, "batch_size": 128,
            "lr": 3e-4, "control_lr": 1e-3},
}


# --8<-- [start:idea]
def fine_tune(model, examples, steps, lr, batch_size, seed):
    """Supervised fine-tuning: AdamW on every weight, loss on the answer tokens only."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    model.train()
    for _ in tqdm(range(steps), desc="fine-tuning", leave=False, mininterval=2):
        batch = rng.choices(examples, k=batch_size)   # (question ids, answer ids) pairs
        loss = lab.answer_loss(model, batch)           # cross-entropy on the answer only
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model
# --8<-- [end:idea]


# --8<-- [start:arms]
def run_seed(scale, preset, seed, device):
    world, pretrained, info = lab.pretrained(scale, seed, device)
    tuned_people, heldout = lab.split_people(world)
    qa = {name: lab.encode_pairs(world, world.qa_pairs(people))
          for name, people in (("tuned", tuned_people), ("heldout", heldout), ("absent", world.absent))}

    def score(model):
        return {name: lab.mean(lab.exact_match(model, examples)) for name, examples in qa.items()}

    result = {"seed": seed, "pretrain": info, "before": score(pretrained),
              "majority": lab.majority_baseline(world, tuned_people, heldout)}
    arms = {"pre-trained": (copy.deepcopy(pretrained), preset["lr"]),
            "random init": (lab.new_model(world, pretrained.config, seed + 1000, device), preset["control_lr"])}
    for arm, (model, lr) in arms.items():
        started = time.perf_counter()
        fine_tune(model, qa["tuned"], preset["steps"], lr, preset["batch_size"], seed)
        result[arm] = {**score(model), "seconds": time.perf_counter() - started}
        if arm == "pre-trained":
            person = heldout[0]
            prompts = [world.tokenizer.encode(world.qa(person, a)[0], bos=True) for a in world.attributes]
            answers = lab.greedy(model, prompts, max_new=3)
            result["example"] = [(world.qa(person, a)[0], person.values[a], world.tokenizer.decode(ans))
                                 for a, ans in zip(world.attributes, answers)]
    return world, result
# --8<-- [end:arms]


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "activating_pretrained_knowledge/synthetic_bios_activation", args)
    results = []
    for seed in range(args.seed, args.seed + preset["seeds"]):
        seed_everything(seed)
        world, result = run_seed(args.scale, preset, seed, device)
        results.append(result)
        info = result["pretrain"]
        how = "loaded from cache" if info["cached"] else f"{info['seconds']:.0f} s, {info['ms_per_step']:.0f} ms/step"
        print(f"seed {seed}: {len(world.present)} people, {len(world.attributes)} attributes, "
              f"{info['n_biographies']} biographies; pre-trained {info['n_params']:,}-parameter GPT ({how})")
        print(f"  before fine-tuning (QA format never seen): held-out exact match {result['before']['heldout']:.3f}")
        for arm in ("pre-trained", "random init"):
            r = result[arm]
            print(f"  {arm:>12} + QA fine-tuning: fine-tuned half {r['tuned']:.3f}, held-out half "
                  f"{r['heldout']:.3f}, never-pre-trained people {r['absent']:.3f} ({r['seconds']:.0f} s)")
        print(f"  majority-class baseline on the held-out half: {result['majority']:.3f}")

    example = results[0]["example"]
    print("\nA held-out person, after fine-tuning the pre-trained model:")
    for question, truth, answer in example:
        print(f"  {question} {answer}   (truth: {truth})")

    rows = []
    for r in results:
        rows.append([r["seed"], "pre-trained, before fine-tuning", r["before"]["tuned"], r["before"]["heldout"],
                     r["before"]["absent"]])
        for arm in ("pre-trained", "random init"):
            rows.append([r["seed"], f"{arm} + QA fine-tuning", r[arm]["tuned"], r[arm]["heldout"], r[arm]["absent"]])
        rows.append([r["seed"], "majority-class baseline", None, r["majority"], None])
    writer.table("activation", ["seed", "model", "fine-tuned half", "held-out half", "never pre-trained"], rows,
                 formats=["{}", "{}", "{:.3f}", "{:.3f}", "{:.3f}"],
                 caption="Exact match on every attribute question. Held-out half: people in pre-training "
                         "whose questions were never fine-tuned on.")
    writer.table("example", ["question", "truth", "answer after fine-tuning"], example,
                 caption="One held-out person, seed " + str(results[0]["seed"]) + ".")
    n = len(results)
    for key, pick in (("pretrained_heldout", lambda r: r["pre-trained"]["heldout"]),
                      ("pretrained_tuned", lambda r: r["pre-trained"]["tuned"]),
                      ("pretrained_absent", lambda r: r["pre-trained"]["absent"]),
                      ("random_heldout", lambda r: r["random init"]["heldout"]),
                      ("random_tuned", lambda r: r["random init"]["tuned"]),
                      ("before_heldout", lambda r: r["before"]["heldout"]),
                      ("majority", lambda r: r["majority"])):
        values = [pick(r) for r in results]
        writer.metric(key, sum(values) / n, "{:.1%}")
        writer.metric(f"{key}_min", min(values), "{:.1%}")
        writer.metric(f"{key}_max", max(values), "{:.1%}")
    writer.metric("seeds", ", ".join(str(r["seed"]) for r in results))
    writer.metric("n_people", len(world.present))
    writer.metric("n_params", results[0]["pretrain"]["n_params"], "{:,}")
    writer.metric("ft_steps", preset["steps"])
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
