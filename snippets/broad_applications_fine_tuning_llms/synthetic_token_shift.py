"""Token shift: which tokens does fine-tuning change? Mostly the format, not the facts.

URIAL (arXiv 2312.01552) in miniature. The activation lab's tiny GPT, pre-trained on a
synthetic world's biographies, is fine-tuned to answer questions like an assistant:
"Q : in which city was Tara Costa born ? A :" -> "sure ! Tara Costa was born in the
city of Denver .". Then, for people held out of fine-tuning, we decode greedily with the
fine-tuned model and rank each of its tokens under the *pre-trained* model given the same
prefix: rank 1 = unshifted (the base model would have said it too), 2-3 = marginal,
above 3 = shifted.

    python snippets/broad_applications_fine_tuning_llms/synthetic_token_shift.py --scale ci
"""

import copy
from collections import Counter

import torch

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide import tiny_gpt as lab

PRESETS = {
    "ci": {"world": lab.describe("ci"), "steps": 300, "batch_size": 32, "lr": 3e-4},
    "gpu": {"world": lab.describe("gpu"), "steps": 3000, "batch_size": 128, "lr": 3e-4},
}
OPENER = "sure !"  # assistant style: words pre-training never contained
ROLES = {"fact": "the fact (attribute value)", "name": "name, copied from the question",
         "style": "assistant style and the stop token (sure ! [eos])", "frame": "sentence frame (was born in ... .)"}


def assistant_answer(world, person, attribute):
    return f"{OPENER} {world.statement(person, attribute, template=0)}"


# --8<-- [start:ranks]
@torch.no_grad()
def base_ranks(base, prompt, answer):
    """Rank of each answer token among the base model's next-token predictions (1 = its top pick)."""
    ids = torch.tensor([prompt + answer], device=base.device)
    logits = base(ids)[0, len(prompt) - 1: len(prompt) - 1 + len(answer)]
    chosen = logits.gather(1, ids[0, len(prompt):].unsqueeze(1))
    return (1 + (logits > chosen).sum(1)).tolist()
# --8<-- [end:ranks]


def role(world, person, attribute, word):
    """What a token is doing in the answer: the fact, copying the name, sentence frame, or style."""
    if word in world.pools[attribute]:  # a value of the asked attribute: right or wrong, a fact
        return "fact"
    if word in person.name.split():
        return "name"
    if word in OPENER.split() or word == "<eos>":
        return "style"
    return "frame"


def main(args):
    preset = PRESETS[args.scale]
    device = lab.setup(args)
    writer = ResultsWriter(args.out, "broad_applications_fine_tuning_llms/synthetic_token_shift", args)
    world, base, info = lab.pretrained(args.scale, args.seed, device)
    tuned_people, heldout = lab.split_people(world)
    tok = world.tokenizer

    def pairs(people):
        return [(world.qa(p, a)[0], assistant_answer(world, p, a)) for p in people for a in world.attributes]

    # --8<-- [start:idea]
    tuned = copy.deepcopy(base)
    lab.fine_tune(tuned, lab.encode_pairs(world, pairs(tuned_people)), steps=preset["steps"], lr=preset["lr"],
                  batch_size=preset["batch_size"], seed=args.seed)

    questions = [(p, a) for p in heldout for a in world.attributes]
    prompts = [tok.encode(world.qa(p, a)[0], bos=True) for p, a in questions]
    answers = lab.greedy(tuned, prompts, max_new=20)
    by_role, shifted_words, positions, correct = {}, Counter(), Counter(), 0
    for (person, attribute), prompt, answer in zip(questions, prompts, answers):
        correct += person.values[attribute] in tok.decode(answer).split()
        for position, (token, rank) in enumerate(zip(answer, base_ranks(base, prompt, answer))):
            word = tok.itos[token]
            by_role.setdefault(role(world, person, attribute, word), []).append(rank)
            if rank > 3:
                shifted_words[word] += 1
                positions[position] += 1
    # --8<-- [end:idea]

    summary(writer, by_role, shifted_words, positions, correct=correct, n_questions=len(questions),
            n_tuned_people=len(tuned_people), pretrain_losses=info["losses"])
    writer.save()


def shares(ranks):
    """(rank 1, rank 2-3, rank > 3) shares of a list of ranks: unshifted, marginal, shifted."""
    n = len(ranks)
    return (sum(r == 1 for r in ranks) / n, sum(2 <= r <= 3 for r in ranks) / n, sum(r > 3 for r in ranks) / n)


def summary(writer, by_role, shifted_words, positions, *, correct, n_questions, n_tuned_people, pretrain_losses):
    """Print the shifts by token role and record the table and metrics the page reads."""
    all_ranks = [r for ranks in by_role.values() for r in ranks]
    rows = []
    for key, ranks in sorted(by_role.items(), key=lambda kv: -shares(kv[1])[2]):
        rows.append([ROLES[key], len(ranks), *shares(ranks)])
    rows.append(["all answer tokens", len(all_ranks), *shares(all_ranks)])
    writer.table("token_shift", ["token role", "tokens", "unshifted (rank 1)", "marginal (rank 2-3)",
                                 "shifted (rank > 3)"], rows,
                 formats=["{}", "{:,}", "{:.1%}", "{:.1%}", "{:.1%}"],
                 caption="Greedy answers of the fine-tuned model for held-out people, each token ranked under "
                         "the pre-trained model given the same prefix.")
    unshifted, marginal, shifted = shares(all_ranks)
    print(f"fine-tuned on {n_tuned_people} people's questions in an assistant format; "
          f"{n_questions} held-out questions, {len(all_ranks)} answer tokens; "
          f"right fact in {correct}/{n_questions} answers")
    print(f"all tokens: unshifted {unshifted:.1%}, marginal {marginal:.1%}, shifted {shifted:.1%}")
    for row in rows[:-1]:
        print(f"  {row[0]:>32}: {row[1]:>5} tokens, unshifted {row[2]:.1%}, marginal {row[3]:.1%}, "
              f"shifted {row[4]:.1%}")
    common = ", ".join(f"'{w}' ({n})" for w, n in shifted_words.most_common(6)).replace("<eos>", "[eos]")
    print(f"most often shifted: {common}")
    n_shifted = sum(positions.values())
    early = (positions[0] + positions[1]) / max(n_shifted, 1)
    print(f"{early:.0%} of the shifted tokens are the first two of the answer")
    writer.metric("unshifted", unshifted, "{:.1%}")
    writer.metric("marginal", marginal, "{:.1%}")
    writer.metric("shifted", shifted, "{:.1%}")
    writer.metric("shifted_common", common)
    writer.metric("shifted_in_first_two", early, "{:.0%}")
    writer.metric("answers_right", correct / n_questions, "{:.1%}")
    # Which trajectory pre-training took (another CPU code path takes another one).
    writer.metric("pretrain_final_loss", sum(pretrain_losses[-50:]) / 50, "{:.4f}")
    for key, ranks in by_role.items():
        writer.metric(f"unshifted_{key}", shares(ranks)[0], "{:.1%}", label=f"unshifted: {ROLES[key]}")
        writer.metric(f"shifted_{key}", shares(ranks)[2], "{:.1%}", label=f"shifted: {ROLES[key]}")
        writer.metric(f"top3_{key}", 1 - shares(ranks)[2], "{:.1%}", label=f"rank 1-3: {ROLES[key]}")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model=None, presets=PRESETS)
    run_main(main, parser)
