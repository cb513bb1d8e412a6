"""Can fine-tuning teach new facts? QA fine-tuning that mixes facts the model read with facts it never read.

The lab's tiny GPT read the biographies of the people in pre-training; the "absent" people it
never read about. Three fine-tuning sets of the same size and the same steps differ in one
thing, the share of questions about absent people (unknown facts): 0 %, 50 % or 100 %. A
control keeps only the known half of the 50 % set, so that "fewer known questions" and "more
unknown ones" are told apart.
During fine-tuning we log how fast known and unknown answers are fitted and how the model does
on held-out people (in pre-training, never in a question). Afterwards the injected facts are
asked in two forms fine-tuning never used: a rephrased question, and the biography sentence
pre-training used (a cloze: "<name> works for ..."). Gekhman et al. (arXiv 2405.05904) found
unknown facts fitted later and raising wrong answers on known ones; Allen-Zhu & Li (Physics of
Language Models 3.1, arXiv 2309.14316) that knowledge is extractable only in the form it was stored.

    python snippets/activating_pretrained_knowledge/synthetic_knowledge_injection.py --scale ci
"""

import copy
import random

import torch
import torch.nn.functional as F

from fieldguide import ResultsWriter, run_main, seed_everything, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "steps": 300, "batch_size": 32, "lr": 3e-4,
           "log_every": 25, "n_people": 50, "unknown_shares": [0.0, 0.5, 1.0]},
    "gpu": {"world": lab.describe("gpu"), "seeds": 3, "steps": 3000, "batch_size": 128, "lr": 3e-4,
            "log_every": 100, "n_people": 1000, "unknown_shares": [0.0, 0.25, 0.5, 0.75, 1.0]},
}
LABELS = {"u0": "0 % unknown", "u25": "25 % unknown", "u50": "50 % unknown", "u75": "75 % unknown",
          "u100": "100 % unknown", "k50": "known half of 50 % only"}
# Forms fine-tuning never shows: a rephrased question, and a biography sentence cut before the value.
REPHRASED = {
    "birth_year": "Q : {name} was born in which year ? A :",
    "birth_city": "Q : {name} was born in which city ? A :",
    "university": "Q : {name} attended which university ? A :",
    "major": "Q : {name} majored in what ? A :",
    "employer": "Q : {name} works for which company ? A :",
    "employer_city": "Q : {name} works in which city ? A :",
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
    """Whether the most likely next token is the answer's first token, and that token's probability."""
    with torch.no_grad():
        width = max(len(p) for p, _ in examples)
        ids = lab.pad_rows([p + [0] * (width - len(p)) for p, _ in examples], width).to(model.device)
        last = torch.tensor([len(p) - 1 for p, _ in examples])
        probs = F.softmax(model(ids)[torch.arange(len(examples)), last], dim=-1)
        top, best = probs.max(-1)
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
            for form in ("qa", "rephrased", "cloze"):
                arm[f"{group}_{form}"] = lab.mean(first_token_right(model, asked(world, people, form))[0]) \
                    if people else None
        arms[key] = arm
    before = {form: lab.mean(first_token_right(pretrained, asked(world, known_people, form))[0])
              for form in ("qa", "rephrased", "cloze")}
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
            end = arm["log"][-1]
            print(f"  {LABELS[key]:>28}: held-out {end['heldout']:.3f} (best {max(r['heldout'] for r in arm['log']):.3f}), "
                  f"confidently wrong {arm['confident_wrong']:.3f}; injected facts: trained question "
                  f"{arm['injected_qa'] if arm['injected_qa'] is not None else '-'}, rephrased "
                  f"{arm['injected_rephrased'] if arm['injected_rephrased'] is not None else '-'}, cloze "
                  f"{arm['injected_cloze'] if arm['injected_cloze'] is not None else '-'}")
    summary(writer, preset, results)
    writer.save()


def summary(writer, preset, results):
    """Tables, the figure and the metrics the page reads: means over seeds, with min and max."""
    plan = arm_plan(preset["unknown_shares"])

    def over_seeds(pick):
        values = [pick(r) for r in results]
        return sum(values) / len(values), min(values), max(values)

    def first_fit(log, name, level=0.9):  # the first logged step at which a set is fitted
        return next((row["step"] for row in log if row[name] is not None and row[name] >= level), None)

    rows = []
    for key, share, keep_unknown in plan:
        arm = lambda r: r["arms"][key]  # noqa: E731
        cells = [over_seeds(lambda r: arm(r)["log"][-1]["heldout"])[0],
                 over_seeds(lambda r: max(row["heldout"] for row in arm(r)["log"]))[0],
                 over_seeds(lambda r: arm(r)["confident_wrong"])[0]]
        for form in ("qa", "rephrased", "cloze"):
            cells.append(over_seeds(lambda r: arm(r)[f"injected_{form}"])[0] if share and keep_unknown else None)
        rows.append([LABELS[key], *cells])
        for name, pick in (("heldout_end", lambda r: arm(r)["log"][-1]["heldout"]),
                           ("heldout_best", lambda r: max(row["heldout"] for row in arm(r)["log"])),
                           ("confident_wrong", lambda r: arm(r)["confident_wrong"])):
            mean, low, high = over_seeds(pick)
            writer.metric(f"{key}_{name}", mean, "{:.1%}")
            writer.metric(f"{key}_{name}_min", low, "{:.1%}")
            writer.metric(f"{key}_{name}_max", high, "{:.1%}")
        for group in ("injected", "known"):
            if (group == "injected" and not (share and keep_unknown)) or (group == "known" and share == 1):
                continue
            for form in ("qa", "rephrased", "cloze"):
                mean, low, high = over_seeds(lambda r: arm(r)[f"{group}_{form}"])
                writer.metric(f"{key}_{group}_{form}", mean, "{:.1%}")
                writer.metric(f"{key}_{group}_{form}_max", high, "{:.1%}")
                writer.metric(f"{key}_{group}_{form}_min", low, "{:.1%}")
    writer.table("injection", ["fine-tuning set", "held-out people, end", "held-out people, best step",
                               "held-out answered wrong with p > 0.5", "injected facts: trained question",
                               "injected: rephrased question", "injected: biography cloze"], rows,
                 formats=["{}"] + ["{:.1%}"] * 6,
                 caption=f"Means over seeds {', '.join(str(r['seed']) for r in results)}. Held-out people: in "
                         "pre-training, never asked about in fine-tuning. Injected facts: the absent people "
                         "fine-tuning asked about (first answer token).")
    mixed = [r["arms"]["u50"]["log"] for r in results if "u50" in r["arms"]]
    for name in ("known", "unknown"):  # in the half-and-half set: how soon each half is fitted
        steps = [first_fit(log, name) for log in mixed]
        writer.metric(f"u50_{name}_fit_step_max", max(s if s is not None else preset["steps"] + 1 for s in steps))
        writer.metric(f"u50_{name}_fit_step_min", min(s if s is not None else preset["steps"] + 1 for s in steps))
    if "k50" in results[0]["arms"]:  # paired on each seed: the same known half, with and without the unknown half
        cost = [r["arms"]["k50"]["log"][-1]["heldout"] - r["arms"]["u50"]["log"][-1]["heldout"] for r in results]
        writer.metric("unknown_cost_min", min(cost), "{:+.1%}")
        writer.metric("unknown_cost_max", max(cost), "{:+.1%}")
        added = [r["arms"]["u50"]["confident_wrong"] - r["arms"]["k50"]["confident_wrong"] for r in results]
        writer.metric("confident_wrong_added_min", min(added), "{:+.1%}")
        for form in ("rephrased", "cloze"):  # facts read in pre-training against facts taught, in one model
            gap = [r["arms"]["u50"][f"known_{form}"] - r["arms"]["u50"][f"injected_{form}"] for r in results]
            writer.metric(f"u50_known_minus_injected_{form}_min", min(gap), "{:+.1%}")
    for form in ("qa", "rephrased", "cloze"):
        writer.metric(f"before_known_{form}", over_seeds(lambda r: r["before"][form])[0], "{:.1%}")
    writer.metric("chance", 1 / results[0]["n_values"], "{:.1%}")
    writer.metric("steps", preset["steps"])
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
