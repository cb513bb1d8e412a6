"""RL with a verifiable reward, read by pass@k: does it find new answers, or sharpen ones the model had?

The lab's tiny GPT, pre-trained on biographies, is first fine-tuned briefly on question-answer
pairs (a few supervised steps: it learns the format and part of the extraction). From that start,
four arms take the same number of update steps, each on the same number of questions per step:

* more supervised fine-tuning (the reference answers as targets);
* RL, reward = exact match with the reference answer (a verifiable reward);
* RL, reward = the answer has the right type (any city for a city question): format only;
* RL, reward = a coin flip, whatever the answer (a random reward).

RL here is a group-relative policy gradient (GRPO's advantage, one on-policy step per batch, so
no ratio clipping and no KL term): a group of answers is sampled for each question and each
answer's log-probability is pushed up by how much better its reward is than its group's mean.
The held-out people (in pre-training, never in a fine-tuning question) are split in two:
validation people choose each arm's rate, test people report pass@k for small k (the unbiased
estimator over sampled answers, temperature 1); people never in pre-training give the floor.

    python snippets/llm_alignment/synthetic_rl_pass_at_k.py --scale ci
"""

import copy
import math
import random

import torch

from fieldguide import ResultsWriter, run_main, seed_everything, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "seeds": 2, "sft_steps": 40, "sft_lr": 3e-4, "steps": 150,
           "batch_size": 16, "group": 8, "samples": 16, "ks": [1, 2, 4, 8],
           "rates": [3e-5, 1e-4, 3e-4, 1e-3]},
    "gpu": {"world": lab.describe("gpu"), "seeds": 3, "sft_steps": 200, "sft_lr": 3e-4, "steps": 1000,
            "batch_size": 64, "group": 16, "samples": 64, "ks": [1, 2, 4, 8, 16, 32],
            "rates": [3e-5, 1e-4, 3e-4, 1e-3]},
}
REWARDS = ("exact match", "right type", "coin flip")
ARMS = ("supervised start", "+ more supervised", *(f"+ RL, {r}" for r in REWARDS))


# --8<-- [start:grpo]
def reward_of(kind, answers, gold, valid, rng):
    """1 or 0 for each sampled answer to one question: exact match, the right type, or a coin flip."""
    if kind == "exact match":
        return (answers == gold).float()
    if kind == "right type":
        return torch.isin(answers, valid).float()
    return torch.bernoulli(torch.full(answers.shape, 0.5), generator=rng)  # ignores the answer


def rl(model, questions, kind, steps, lr, batch_size, group, seed):
    """Group-relative policy gradient: sample a group of answers per question, reward each,
    and raise the log-probability of those that beat their group's mean."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    pick, rng = random.Random(seed), torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = pick.choices(questions, k=batch_size)  # (prompt ids, gold id, ids of the right type)
        logp = lab.next_token_logprobs(model, [p for p, _, _ in batch])  # one-word answers: the whole answer
        answers = torch.multinomial(logp.exp().detach(), group, replacement=True, generator=rng)
        rewards = torch.stack([reward_of(kind, a, gold, valid, rng) for a, (_, gold, valid) in zip(answers, batch)])
        advantage = (rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)
        loss = -(advantage * logp.gather(1, answers)).mean()  # on-policy: the ratio is 1
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model
# --8<-- [end:grpo]


# --8<-- [start:pass_at_k]
def pass_at_k(n, c, k):
    """Unbiased estimate of P(at least one of k samples is right) from n samples with c right
    (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    return 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)


@torch.no_grad()
def pass_curve(model, questions, samples, ks, seed):
    """Mean pass@k over the questions, estimated from ``samples`` sampled answers each (temperature 1);
    its closed-form value from the answer distribution, 1 - (1 - p_right)^k, checks the estimator."""
    probs = lab.next_token_logprobs(model, [p for p, _, _ in questions]).exp()
    drawn = torch.multinomial(probs, samples, replacement=True, generator=torch.Generator().manual_seed(seed))
    right = (drawn == torch.tensor([g for _, g, _ in questions])[:, None]).sum(1).tolist()
    p_right = probs[torch.arange(len(questions)), [g for _, g, _ in questions]]
    estimated = {k: sum(pass_at_k(samples, c, k) for c in right) / len(questions) for k in ks}
    closed_form = {k: (1 - (1 - p_right) ** k).mean().item() for k in ks}
    type_mass = sum(probs[i, valid].sum().item() for i, (_, _, valid) in enumerate(questions)) / len(questions)
    return estimated, closed_form, type_mass
# --8<-- [end:pass_at_k]


def questions_of(world, people):
    """(prompt ids, the answer's token id, ids of every answer of the right type) per question."""
    tok = world.tokenizer
    valid = {a: torch.tensor(sorted({tok.stoi[v] for v in world.pools[a]})) for a in world.attributes}
    return [(tok.encode(q, bos=True), tok.stoi[v], valid[a])
            for p in people for a in world.attributes for q, v in [world.qa(p, a)]]


def supervised(model, world, people, steps, lr, batch_size, seed):
    lab.fine_tune(model, lab.encode_pairs(world, world.qa_pairs(people)), steps=steps, lr=lr,
                  batch_size=batch_size, seed=seed, desc="supervised")
    return model


def run_seed(scale, preset, seed, device):
    world, pretrained, _ = lab.pretrained(scale, seed, device)
    tuned, heldout = lab.split_people(world)
    validation, test = heldout[: len(heldout) // 2], heldout[len(heldout) // 2:]
    train_q = questions_of(world, tuned)
    sets = {"test": questions_of(world, test), "absent": questions_of(world, world.absent)}
    start = supervised(copy.deepcopy(pretrained), world, tuned, preset["sft_steps"], preset["sft_lr"], 32, seed)

    def train(arm, lr):  # every arm sees batch_size questions per step
        model = copy.deepcopy(start)
        if arm == "+ more supervised":
            return supervised(model, world, tuned, preset["steps"], lr, preset["batch_size"], seed + 1)
        return rl(model, train_q, arm.removeprefix("+ RL, "), preset["steps"], lr, preset["batch_size"],
                  preset["group"], seed + 1)

    def pass1(model, people):  # the validation score each arm's rate is chosen on
        return pass_curve(model, questions_of(world, people), preset["samples"], [1], seed)[1][1]

    models, rates = {"supervised start": start}, {}
    for arm in ARMS[1:]:  # each arm at the rate that scores best on the validation people
        trained = {lr: train(arm, lr) for lr in preset["rates"]}
        rates[arm] = max(trained, key=lambda lr: pass1(trained[lr], validation))
        models[arm] = trained[rates[arm]]
    curves = {arm: {name: pass_curve(m, qs, preset["samples"], preset["ks"], seed + 2)
                    for name, qs in sets.items()} for arm, m in models.items()}
    return {"seed": seed, "rates": rates, "curves": curves, "n_test": len(sets["test"]),
            "n_values": len(world.pools[world.attributes[0]])}


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "llm_alignment/synthetic_rl_pass_at_k", args)
    results = []
    for seed in range(args.seed, args.seed + preset["seeds"]):
        seed_everything(seed)
        results.append(run_seed(args.scale, preset, seed, device))
        r = results[-1]
        print(f"seed {seed}: pass@k on {r['n_test']} held-out questions (estimated from {preset['samples']} samples)")
        for arm in ARMS:
            estimated = r["curves"][arm]["test"][0]
            rate = f"  (lr {r['rates'][arm]:g})" if arm in r["rates"] else ""
            print(f"  {arm:>24}: " + "  ".join(f"pass@{k} {v:.3f}" for k, v in estimated.items()) + rate)
    summary(writer, preset, results)
    writer.save()


def summary(writer, preset, results):
    """Tables, the figure, and the metrics the page reads (means over seeds, min and max where a claim needs them)."""
    ks, n = preset["ks"], len(results)
    top = ks[-1]

    def mean_over_seeds(arm, k, where="test", which=0):
        values = [r["curves"][arm][where][which][k] for r in results]
        return sum(values) / n, min(values), max(values)

    def type_mass(arm):  # probability on answers of the right type, test people
        return sum(r["curves"][arm]["test"][2] for r in results) / n

    rows = []
    for arm in ARMS:
        rows.append([arm, *[mean_over_seeds(arm, k)[0] for k in ks], mean_over_seeds(arm, top, "absent")[0],
                     type_mass(arm), ", ".join(f"{r['rates'][arm]:g}" for r in results) if arm != ARMS[0] else "-"])
    writer.table("pass_at_k", ["arm", *[f"pass@{k}, held-out" for k in ks], f"pass@{top}, never pre-trained",
                               "probability on the right type", "rate chosen (per seed)"], rows,
                 formats=["{}", *["{:.3f}"] * (len(ks) + 2), "{}"],
                 caption=f"Mean over seeds {', '.join(str(r['seed']) for r in results)}; pass@k estimated from "
                         f"{preset['samples']} samples per question, temperature 1.")
    short = {"supervised start": "start", "+ more supervised": "sft", "+ RL, exact match": "rl_exact",
             "+ RL, right type": "rl_type", "+ RL, coin flip": "rl_coin"}
    for arm, key in short.items():
        for k in (1, top):
            writer.metric(f"{key}_pass{k}", mean_over_seeds(arm, k)[0], "{:.3f}")
            if arm != "supervised start":  # paired with the start on each seed
                gains = [r["curves"][arm]["test"][0][k] - r["curves"]["supervised start"]["test"][0][k] for r in results]
                writer.metric(f"{key}_gain{k}_min", min(gains), "{:+.3f}")
                writer.metric(f"{key}_gain{k}_max", max(gains), "{:+.3f}")
        writer.metric(f"{key}_absent_pass{top}", mean_over_seeds(arm, top, "absent")[0], "{:.3f}")
        writer.metric(f"{key}_type_mass", type_mass(arm), "{:.3f}")
    for k in (1, top):  # the two ways to spend the same steps, paired seed by seed
        differences = [r["curves"]["+ RL, exact match"]["test"][0][k] - r["curves"]["+ more supervised"]["test"][0][k]
                       for r in results]
        writer.metric(f"rl_minus_sft_pass{k}_min", min(differences), "{:+.3f}")
        writer.metric(f"rl_minus_sft_pass{k}_max", max(differences), "{:+.3f}")
    gaps = [abs(r["curves"][a]["test"][0][k] - r["curves"][a]["test"][1][k])
            for r in results for a in ARMS for k in ks]
    writer.metric("estimator_gap_max", max(gaps), "{:.3f}")
    writer.metric("chance_pass1", 1 / results[0]["n_values"], "{:.3f}")  # uniform over the right type
    writer.metric(f"chance_pass{top}", 1 - (1 - 1 / results[0]["n_values"]) ** top, "{:.3f}")
    writer.metric("top_k", top)
    writer.metric("smallest_rate", min(preset["rates"]), "{:g}")
    writer.metric("samples", preset["samples"])
    writer.metric("steps", preset["steps"])
    writer.metric("seeds", ", ".join(str(r["seed"]) for r in results))
    plot(writer, ks, results)


def plot(writer, ks, results):
    fig, ax = lab.axes()
    for arm, style in zip(ARMS, ["k-", "k--", "C0-o", "C1-s", "C2-^"]):
        means = [sum(r["curves"][arm]["test"][0][k] for r in results) / len(results) for k in ks]
        ax.plot(ks, means, style, label=arm, ms=4)
    floor = [sum(r["curves"]["supervised start"]["absent"][0][k] for r in results) / len(results) for k in ks]
    ax.plot(ks, floor, ":", color="grey", label="start, never pre-trained people")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (answers sampled per question)")
    ax.set_ylabel("pass@k, held-out people")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    writer.figure("pass_at_k", fig, caption="pass@k on held-out people after each arm (mean over seeds).")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
