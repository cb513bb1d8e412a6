"""Can fine-tuning teach new facts? QA fine-tuning that mixes facts the model read with facts it never read.

The lab's tiny GPT read the biographies of the people in pre-training; the "absent" people it
never read about. Fine-tuning sets of the same size, trained for the same steps at the same rate,
differ in one thing, the share of questions about absent people (unknown facts): at ci scale
0 %, 50 % or 100 %. A
control keeps only the known half of the 50 % set, so that "fewer known questions" and "more
unknown ones" are told apart.
During fine-tuning we log how fast known and unknown answers are fitted and how the model does
on held-out people (in pre-training, never in a question). Afterwards the injected facts are
asked in two forms fine-tuning never used: a rephrased question, and the biography sentence
pre-training used (a cloze: "<name> works for ..."). Gekhman et al. (arXiv 2405.05904) found
unknown facts fitted later and raising wrong answers on known ones; Allen-Zhu & Li (Physics of
Language Models 3.1, arXiv 2309.14316) that a fact a question can extract is one pre-training
stored in a form that allows it (varied biographies, as here).

    python snippets/activating_pretrained_knowledge/synthetic_knowledge_injection.py --scale ci
"""

import copy
import random

import torch

from fieldguide import ResultsWriter, run_main, seed_everything, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "steps": 300, "batch_size": 32, "lr": 3e-4,
           "log_every": 25, "n_people": 50, "unknown_shares": [0.0, 0.5, 1.0]},
    "gpu": {"world": lab.describe("gpu"), "seeds": 3, "steps": 3000, "batch_size": 128, "lr": 3e-4,
            "log_every": 100, "n_people": 1000, "unknown_shares": [0.0, 0.25, 0.5, 0.75, 1.0]},
}
FORMS = ("qa", "rephrased", "cloze")
LABELS = {"u0": "0 % unknown", "u25": "25 % unknown", "u50": "50 % unknown", "u75": "75 % unknown",
          "u100": "100 % unknown", "k50": "known half of 50 % only"}
# Forms fine-tuning never shows: a rephrased question (no biography phrase before the answer, so it
# cues stored and taught facts alike), and a biography sentence cut before the value (a cloze).
REPHRASED = {
    "birth_year": "Q : year of birth of {name} ? A :",
    "birth_city": "Q : city of birth of {name} ? A :",
    "university": "Q : university of {name} ? A :",
    "major": "Q : field of study of {name} ? A :",
    "employer": "Q : company of {name} ? A :",
    "employer_city": "Q : city of work of {name} ? A :",
}
CLOZE = {
    "birth_year": "{name} has a birth year of", "birth_city": "{name} was born in the city of",
    "university": "{name} graduated from", "major": "{name} majored in", "employer": "{name} works for",
    "employer_city": "{name} goes to work in",
}


def asked(world, people, form):
    """(prompt ids, answer ids + <eos>) for every attribute of ``people``, in a form: qa, rephrased or cloze."""
    tok = world.tokenizer
    templates = {"rephrased": REPHRASED, "cloze": CLOZE}.get(form)
    pairs = world.qa_pairs(people) if templates is None else \
        [(templates[a].format(name=p.name), p.values[a]) for p in people for a in world.attributes]
    return [(tok.encode(q, bos=True), tok.encode(v) + ([tok.eos_id] if form != "cloze" else []))
            for q, v in pairs]


def first_token_right(model, examples):
    """Whether the most likely next token is the answer (one word), and that token's probability."""
    with torch.no_grad():
        top, best = lab.next_token_logprobs(model, [p for p, _ in examples]).exp().max(-1)
    right = [b == a[0] for b, (_, a) in zip(best.tolist(), examples)]
    return right, top.tolist()


# --8<-- [start:idea]
def fine_tune_and_log(model, train, watch, steps, lr, batch_size, log_every, seed):
    """Supervised fine-tuning (loss on the answer only), scoring every set in ``watch`` as it goes."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng, log = random.Random(seed), []
    for step in range(steps + 1):
        if step % log_every == 0:
            model.eval()
            log.append({"step": step, **{name: lab.mean(lab.exact_match(model, examples)) if examples else None
                                         for name, examples in watch.items()}})
            model.train()
        if step == steps:
            break
        loss = lab.answer_loss(model, rng.choices(train, k=batch_size))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return log


def mixture(known_people, unknown_people, n, unknown_share, seed):
    """n people to ask about, a share of them people pre-training never mentioned (unknown facts)."""
    rng = random.Random(seed)
    n_unknown = round(n * unknown_share)
    return rng.sample(known_people, n - n_unknown), rng.sample(unknown_people, n_unknown)
# --8<-- [end:idea]


def arm_plan(shares):
    """(key, unknown share, whether the unknown part is kept): each share, and the known half of 50 % alone."""
    plan = [(f"u{round(100 * share)}", share, True) for share in shares]
    return plan + ([("k50", 0.5, False)] if 0.5 in shares else [])


def run_seed(scale, preset, seed, device):
    world, pretrained, _ = lab.pretrained(scale, seed, device)
    known_people, heldout = lab.split_people(world)
    heldout_q = asked(world, heldout, "qa")
    arms = {}
    for key, share, keep_unknown in arm_plan(preset["unknown_shares"]):
        known_sample, unknown_sample = mixture(known_people, world.absent, preset["n_people"], share, seed)
        unknown_sample = unknown_sample if keep_unknown else []
        known, unknown = asked(world, known_sample, "qa"), asked(world, unknown_sample, "qa")
        model = copy.deepcopy(pretrained)
        log = fine_tune_and_log(model, known + unknown, {"known": known, "unknown": unknown, "heldout": heldout_q},
                                preset["steps"], preset["lr"], preset["batch_size"], preset["log_every"], seed)
        right, confidence = first_token_right(model, heldout_q)
        arm = {"log": log, "confident_wrong": lab.mean(not r and c > 0.5 for r, c in zip(right, confidence))}
        # The facts fine-tuning taught, asked in forms it never used.
        for group, people in (("injected", unknown_sample), ("known", known_sample)):
            for form in FORMS:
                arm[f"{group}_{form}"] = lab.mean(first_token_right(model, asked(world, people, form))[0]) \
                    if people else None
        arms[key] = arm
    before = {form: lab.mean(first_token_right(pretrained, asked(world, known_people, form))[0])
              for form in FORMS}
    return {"seed": seed, "arms": arms, "before": before, "n_values": len(world.pools[world.attributes[0]])}


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "activating_pretrained_knowledge/synthetic_knowledge_injection", args)
    results = []
    for seed in range(args.seed, args.seed + preset["seeds"]):
        seed_everything(seed)
        results.append(run_seed(args.scale, preset, seed, device))
        print(f"seed {seed}: {preset['n_people']} people asked about, {preset['steps']} steps")
        for key, arm in results[-1]["arms"].items():
            taught = ", ".join(f"{form} {arm[f'injected_{form}']:.3f}" for form in FORMS
                               if arm[f"injected_{form}"] is not None) or "-"
            print(f"  {LABELS[key]:>24}: held-out {arm['log'][-1]['heldout']:.3f} "
                  f"(best {max(row['heldout'] for row in arm['log']):.3f}), confidently wrong "
                  f"{arm['confident_wrong']:.3f}; taught facts: {taught}")
    summary(writer, preset, results)
    writer.save()


def summary(writer, preset, results):
    """Tables, the figure and the metrics the page reads: means over seeds, with min and max."""
    plan = arm_plan(preset["unknown_shares"])

    def write(name, values, fmt="{:.1%}"):  # the mean over seeds, and its min and max
        writer.metric(name, sum(values) / len(values), fmt)
        writer.metric(f"{name}_min", min(values), fmt)
        writer.metric(f"{name}_max", max(values), fmt)

    def heldout(arm, step=None):  # held-out exact match at the end, or at a logged step
        return next(row["heldout"] for row in reversed(arm["log"]) if step is None or row["step"] == step)

    rows = []
    for key, _, _ in plan:
        arms = [r["arms"][key] for r in results]
        write(f"{key}_heldout_end", [heldout(a) for a in arms])
        write(f"{key}_heldout_best", [max(row["heldout"] for row in a["log"]) for a in arms])
        write(f"{key}_confident_wrong", [a["confident_wrong"] for a in arms])
        for group in ("injected", "known"):
            for form in FORMS:
                if arms[0][f"{group}_{form}"] is not None:
                    write(f"{key}_{group}_{form}", [a[f"{group}_{form}"] for a in arms])
        taught = [sum(a[f"injected_{form}"] for a in arms) / len(arms) if arms[0][f"injected_{form}"] is not None
                  else None for form in FORMS]
        rows.append([LABELS[key], sum(heldout(a) for a in arms) / len(arms),
                     sum(max(row["heldout"] for row in a["log"]) for a in arms) / len(arms),
                     sum(a["confident_wrong"] for a in arms) / len(arms), *taught])
    writer.table("injection", ["fine-tuning set", "held-out people, end", "held-out people, best step",
                               "held-out answered wrong with p > 0.5", "taught facts: trained question",
                               "taught: rephrased question", "taught: biography cloze"], rows,
                 formats=["{}"] + ["{:.1%}"] * 6,
                 caption=f"Means over seeds {', '.join(str(r['seed']) for r in results)}. Held-out people: in "
                         "pre-training, never asked about in fine-tuning (greedy answer and <eos>, exact). "
                         "Taught facts: the absent people fine-tuning asked about (the most likely first "
                         "word). Confidently wrong: the most likely first word is wrong and has p > 0.5.")
    if "k50" in results[0]["arms"]:  # paired on each seed: the same known half, with and without the unknown half
        pairs = [(r["arms"]["k50"], r["arms"]["u50"]) for r in results]
        write("unknown_cost", [heldout(k) - heldout(u) for k, u in pairs], "{:+.1%}")
        write("unknown_cost_best", [max(row["heldout"] for row in k["log"]) - max(row["heldout"] for row in u["log"])
                                    for k, u in pairs], "{:+.1%}")
        # The control sees twice the known questions per step: halfway, it has seen as many as u50 at the end.
        write("unknown_cost_dose_matched", [heldout(k, preset["steps"] // 2) - heldout(u) for k, u in pairs],
              "{:+.1%}")
        write("confident_wrong_added", [u["confident_wrong"] - k["confident_wrong"] for k, u in pairs], "{:+.1%}")
        for form in ("rephrased", "cloze"):  # facts read in pre-training against facts taught, in one model
            write(f"u50_known_minus_injected_{form}", [u[f"known_{form}"] - u[f"injected_{form}"] for _, u in pairs],
                  "{:+.1%}")
        for name in ("known", "unknown"):  # how soon each half of the mixed set is fitted (90 %)
            steps = [next((row["step"] for row in u["log"] if row[name] >= 0.9), preset["steps"] + 1) for _, u in pairs]
            writer.metric(f"u50_{name}_fit_step_min", min(steps))
            writer.metric(f"u50_{name}_fit_step_max", max(steps))
    for form in FORMS:
        writer.metric(f"before_known_{form}", sum(r["before"][form] for r in results) / len(results), "{:.1%}")
    writer.metric("chance", 1 / results[0]["n_values"], "{:.1%}")
    writer.metric("steps", preset["steps"])
    writer.metric("lr", preset["lr"], "{:g}")
    writer.metric("n_people", preset["n_people"])
    writer.metric("seeds", ", ".join(str(r["seed"]) for r in results))
    plot(writer, plan, results)


def plot(writer, plan, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (fit, held) = plt.subplots(1, 2, figsize=(8.4, 3.2), sharex=True)
    for (key, _, _), colour in zip(plan, ["C0", "C1", "C3", "C4", "C5", "C7"]):
        log = results[0]["arms"][key]["log"]
        steps = [row["step"] for row in log]
        for name, style in (("known", "-"), ("unknown", "--")):
            if log[0][name] is not None:
                fit.plot(steps, [row[name] for row in log], style, color=colour, label=f"{LABELS[key]}: {name}")
        held.plot(steps, [row["heldout"] for row in log], color=colour, label=LABELS[key])
    fit.set(xlabel="fine-tuning step", ylabel="fitted (exact match)", title="training questions", ylim=(0, 1.02))
    held.set(xlabel="fine-tuning step", ylabel="exact match", title="held-out people", ylim=(0, 1.02))
    fit.legend(fontsize=7)
    held.legend(fontsize=7)
    fig.tight_layout()
    writer.figure("injection", fig, caption=f"Seed {results[0]['seed']}: solid, facts the model read in "
                  "pre-training; dashed, facts about people it never read about.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
