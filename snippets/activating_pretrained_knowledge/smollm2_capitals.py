"""Fine-tuning activates knowledge SmolLM2 already has: capitals in a bare-answer format.

SmolLM2-135M-Instruct knows many capitals but, asked to "reply with the city name only",
answers in a sentence ("The capital of Morocco is Rabat."). We LoRA-fine-tune it on a few
dozen countries in the bare format and measure, on held-out countries:

* exact match in the bare format, before and after;
* the mean log-probability of the desired bare responses;
* which items it gets right afterwards: ones it already knew or ones it did not. "Known" is
  measured two ways: a free-form probe (asked plainly, in two phrasings, or with the reply
  begun as "The capital of X is", it names the right city) and a ranking probe (the right
  city is the most likely answer among it and four other capitals);
* what it still knows afterwards, of the capitals and of 60 general facts outside the
  training relation (landmarks, chemical symbols, authors, ...): the free-form probe tells
  what it still produces, the ranking probe, rerun on the capitals, whether a capital it no
  longer names is still its most likely answer (suppressed) or not (erased).

Two baselines: no training at all, the bare format shown by three answered examples in the
prompt (in context); and the gentle recipe trained on shuffled answers (each training country
given another's capital), which can learn the format only apart from the facts.

The recipes run side by side: a gentle one (LoRA on the MLP), an aggressive one (LoRA on
every linear layer at a several times higher learning rate) that damages what it should
activate, and two crossed arms that change one of those factors each.

    python snippets/activating_pretrained_knowledge/smollm2_capitals.py --scale ci

Your own facts instead of capitals: ``--data facts.csv`` (columns question, answer and
optional aliases); each question gets the instruction "Reply with the answer only.", and
"known before" is whether the untuned model's free-form answers name an accepted answer;
the ranking probe's distractors are the answers of the neighbouring rows of your file.
``--recipes gentle`` runs only the recipes you name (each one costs a fine-tune and a probe).
"""

import argparse
import re
import time
from dataclasses import dataclass

import torch
from peft import LoraConfig, get_peft_model
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import greedy_token_ids
from fieldguide.datasets import DATA, country_capitals, split
from fieldguide.user_data import add_data_flag, knowledge_facts

PRESETS = {
    "ci": {"n_train": 48, "split_seeds": [0], "batch_size": 8},
    "gpu": {"n_train": 48, "split_seeds": [0, 1, 2, 3, 4], "batch_size": 8},
}
MLP = ["gate_proj", "up_proj", "down_proj"]
EVERY_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", *MLP]
# The gentle and the aggressive recipe differ in two factors (which layers, learning rate); the
# two crossed arms change one factor each, so the run can say which of them does the damage.
RECIPES = {
    "gentle (LoRA r=8 on the MLP, lr 7e-4)": {
        "tag": "gentle", "target_modules": MLP, "r": 8, "lr": 7e-4, "epochs": 3},
    "aggressive (LoRA r=8 on every linear layer, lr 3e-3)": {
        "tag": "aggressive", "target_modules": EVERY_LINEAR, "r": 8, "lr": 3e-3, "epochs": 3},
    "MLP only, high lr (LoRA r=8 on the MLP, lr 3e-3)": {
        "tag": "mlp_high_lr", "target_modules": MLP, "r": 8, "lr": 3e-3, "epochs": 3},
    "every layer, gentle lr (LoRA r=8 on every linear layer, lr 7e-4)": {
        "tag": "every_layer_low_lr", "target_modules": EVERY_LINEAR, "r": 8, "lr": 7e-4, "epochs": 3},
    # The gentle recipe on wrong answers: can the format be learned apart from the facts?
    "gentle on shuffled answers (each training country given another's capital)": {
        "tag": "shuffled", "target_modules": MLP, "r": 8, "lr": 7e-4, "epochs": 3, "shuffled": True},
}
RECIPE_TAGS = [r["tag"] for r in RECIPES.values()]
BARE = "What is the capital of {country}? Reply with the city name only."
PHRASINGS = ("What is the capital of {country}?", "Which city is the capital of {country}?")
ANSWER_ONLY = "Reply with the answer only."  # appended to each question of a --data file
IN_A_SENTENCE = "Answer in one sentence."    # a --data question's second phrasing
N_DISTRACTORS = 4  # the ranking probe: the right answer against this many others
N_SHOTS = 3  # the in-context baseline: this many training questions, answered bare, in the prompt


@dataclass(frozen=True)
class Item:
    name: str                   # the country (or, with --data, the question)
    answer: str                 # the desired bare response
    accepted: tuple[str, ...]   # answers that count as right
    bare: str                   # the question in the bare-answer format
    phrasings: tuple[str, ...]  # the question asked plainly, in two phrasings (the free-form probe)
    primed: str | None          # a reply begun as a sentence, for another probe (None: no such probe)
    distractors: tuple[str, ...] = ()  # other answers, for the ranking probe


def with_distractors(items):
    """Each item's distractors: the answers of its neighbouring rows (capitals: the same region)."""
    half = N_DISTRACTORS // 2
    return [Item(**{**vars(it), "distractors": tuple(
        items[j % len(items)].answer for j in [*range(i - half, i), *range(i + 1, i + 1 + half)])})
        for i, it in enumerate(items)]


def load_items(data):
    """The capitals, or your --data file's facts, as questions in the formats the probes use."""
    if data is None:
        return with_distractors([
            Item(c.country, c.capital, c.accepted, BARE.format(country=c.country),
                 tuple(p.format(country=c.country) for p in PHRASINGS), f"The capital of {c.country} is")
            for c in country_capitals()])
    return with_distractors([Item(f.question, f.answer, f.accepted, f"{f.question} {ANSWER_ONLY}",
                                  (f.question, f"{f.question} {IN_A_SENTENCE}"), None)
                             for f in knowledge_facts(data)])


def general_knowledge():
    """60 facts outside the training relation, asked plainly: does activation cost other knowledge?"""
    return [Item(f.question, f.answer, f.accepted, f.question, (f.question,), None)
            for f in knowledge_facts(DATA / "general_knowledge.csv")]


def chat_prompt(tokenizer, question, shots=()):
    """The chat template around ``question``, after earlier turns ``shots``: (question, answer) pairs."""
    turns = [turn for q, a in shots for turn in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
    return tokenizer.apply_chat_template(
        [*turns, {"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)


def ask(model, tokenizer, questions, max_new_tokens, answer_starts=None, batch_size=64, shots=()):
    """Greedy answers to chat questions; ``answer_starts`` pre-fills each reply."""
    starts = answer_starts or [""] * len(questions)
    prompts = [chat_prompt(tokenizer, q, shots) + a for q, a in zip(questions, starts)]
    return tokenizer.batch_decode(greedy_token_ids(model, tokenizer, prompts, max_new_tokens, batch_size),
                                  skip_special_tokens=True)


def bare(answer):
    """An answer without surrounding space, quotes and trailing full stop, in lower case."""
    return answer.strip().strip("\"'").rstrip(".").strip().lower()


def is_bare_match(answer, item):
    """The whole answer is the city (case, trailing full stop and quotes ignored)."""
    return bare(answer) in {a.lower() for a in item.accepted}


def names_city(answer, item):
    """The right city appears as a word anywhere in a free-form answer."""
    return any(re.search(rf"\b{re.escape(a)}\b", answer, re.IGNORECASE) for a in item.accepted)


def echoes_the_question(answer, item):
    """A short answer that only repeats part of the question ("Hamlet" to "Who wrote Hamlet?")."""
    return bool(bare(answer)) and bare(answer) in item.name.lower()


def encode_example(tokenizer, item):
    """Prompt and desired response as ids; labels mask the prompt so loss is on the answer."""
    prompt = tokenizer(chat_prompt(tokenizer, item.bare), add_special_tokens=False).input_ids
    response = tokenizer(item.answer + "<|im_end|>", add_special_tokens=False).input_ids
    return prompt + response, [-100] * len(prompt) + response


def collate(tokenizer, examples, device):
    width = max(len(ids) for ids, _ in examples)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in examples])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in examples])
    attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in examples])
    return input_ids.to(device), labels.to(device), attention.to(device)


@torch.no_grad()
def continuation_logprob(model, tokenizer, prompts, continuations, batch_size=32):
    """log p(continuation | prompt), summed over the continuation's tokens, per pair of texts."""
    model.eval()
    scores = []
    for start in range(0, len(prompts), batch_size):
        pairs = [(tokenizer(p, add_special_tokens=False).input_ids, tokenizer(c, add_special_tokens=False).input_ids)
                 for p, c in zip(prompts[start:start + batch_size], continuations[start:start + batch_size])]
        # Left padding puts every continuation at the end: only the last positions need logits
        # (the output layer over 49,152 tokens is the costly part of a forward pass here).
        width, keep = max(len(p) + len(c) for p, c in pairs), max(len(c) for _, c in pairs)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p) - len(c)) + p + c for p, c in pairs])
        attention = torch.tensor([[0] * (width - len(p) - len(c)) + [1] * (len(p) + len(c)) for p, c in pairs])
        targets = torch.tensor([[-100] * (keep - len(c)) + c for _, c in pairs])
        logits = model(input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device),
                       position_ids=(attention.cumsum(-1) - 1).clamp(min=0).to(model.device),
                       logits_to_keep=keep + 1).logits[:, :-1].float().cpu()
        picked = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        scores += (picked * (targets != -100)).sum(dim=1).tolist()
    return scores


def response_logprob(model, tokenizer, items):
    """log p(desired bare response | bare prompt), per item."""
    return continuation_logprob(model, tokenizer, [chat_prompt(tokenizer, it.bare) for it in items],
                                [it.answer + "<|im_end|>" for it in items])


@torch.no_grad()
def candidates_logprob(model, tokenizer, prompts, candidates, batch_size=32):
    """log p(candidate | prompt), summed over the candidate's tokens, for each prompt's list of
    candidates. The prompt is most of the tokens: it is encoded once, and its keys and values
    (the cache) are reused by every candidate."""
    model.eval()
    device, pad, k = model.device, tokenizer.pad_token_id, len(candidates[0])
    scores = []
    for start in range(0, len(prompts), batch_size):
        prompt_ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts[start:start + batch_size]]
        options = [tokenizer(c, add_special_tokens=False).input_ids
                   for row in candidates[start:start + batch_size] for c in row]
        width = max(len(p) for p in prompt_ids)
        prompt_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompt_ids])
        out = model(input_ids=torch.tensor([[pad] * (width - len(p)) + p for p in prompt_ids]).to(device),
                    attention_mask=prompt_mask.to(device),
                    position_ids=(prompt_mask.cumsum(-1) - 1).clamp(min=0).to(device),
                    use_cache=True, logits_to_keep=1)
        # The prompt's last position predicts each candidate's first token.
        first = torch.log_softmax(out.logits[:, -1].float(), dim=-1).repeat_interleave(k, dim=0).cpu()
        total = first.gather(-1, torch.tensor([[c[0]] for c in options])).squeeze(-1)
        longest = max(len(c) for c in options)
        if longest > 1:  # the rest of each candidate, fed after its prompt's cached keys and values
            cache = out.cache
            cache.batch_repeat_interleave(k)
            rest = torch.tensor([c[:-1] + [pad] * (longest - len(c)) for c in options])
            rest_mask = torch.tensor([[1] * (len(c) - 1) + [0] * (longest - len(c)) for c in options])
            mask = torch.cat([prompt_mask.repeat_interleave(k, dim=0), rest_mask], dim=1)
            positions = prompt_mask.sum(1).repeat_interleave(k).unsqueeze(1) + torch.arange(longest - 1)
            logits = model(input_ids=rest.to(device), attention_mask=mask.to(device),
                           position_ids=positions.to(device), cache=cache).logits.float().cpu()
            targets = torch.tensor([c[1:] + [-100] * (longest - len(c)) for c in options])
            picked = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            total += (picked * (targets != -100)).sum(dim=1)
        scores += total.view(len(prompt_ids), k).tolist()
    return scores


def ranked_first(model, tokenizer, items):
    """The ranking probe: asked plainly (capitals: the reply begun as "The capital of X is"), is the
    right answer more likely than each of its distractors?"""
    prompts = [chat_prompt(tokenizer, it.phrasings[0]) + (it.primed or "") for it in items]
    space = [" " if it.primed else "" for it in items]
    scores = candidates_logprob(model, tokenizer, prompts,
                                [[s + a for a in (it.answer, *it.distractors)] for s, it in zip(space, items)])
    return [right > max(others) for right, *others in scores]


def measure(model, tokenizer, items, general):
    """Bare-format exact match, free-form knowledge and response log-probability, per item; and
    free-form knowledge of the general facts outside the training relation."""
    bare = ask(model, tokenizer, [it.bare for it in items], max_new_tokens=10)
    # Free-form knowledge probe: the plain question in two phrasings, and the first one with the
    # reply begun as a sentence. The model "knows" a capital if any of them names the right city.
    free = [ask(model, tokenizer, [it.phrasings[k] for it in items], max_new_tokens=24)
            for k in range(len(PHRASINGS))]
    primed = ask(model, tokenizer, [it.phrasings[0] for it in items], max_new_tokens=8,
                 answer_starts=[it.primed for it in items]) \
        if all(it.primed for it in items) else [""] * len(items)  # --data: the free-form answers alone
    general_answers = ask(model, tokenizer, [g.phrasings[0] for g in general], max_new_tokens=24)
    named = [[names_city(a, it) for a, it in zip(answers, items)] for answers in (*free, primed)]
    return {
        "bare_answer": bare,
        "free_answer": free[0],
        "exact": [is_bare_match(a, it) for a, it in zip(bare, items)],
        "knows": [any(flags) for flags in zip(*named)],
        "knows_one_phrasing": [f or p for f, p in zip(named[0], named[-1])],  # the probe before it had two
        "logprob": response_logprob(model, tokenizer, items),
        "general_answer": general_answers,
        "general_knows": [names_city(a, g) for a, g in zip(general_answers, general)],
    }


# --8<-- [start:idea]
def fine_tune(model, tokenizer, train_items, recipe, batch_size, seed):
    """Plain PyTorch loop over LoRA parameters; returns the loss after each step."""
    config = LoraConfig(r=recipe["r"], lora_alpha=2 * recipe["r"], lora_dropout=0.0,
                        target_modules=recipe["target_modules"], task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe["lr"])
    examples = [encode_example(tokenizer, it) for it in train_items]
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    steps = recipe["epochs"] * -(-len(examples) // batch_size)
    with tqdm(total=steps, desc="fine-tuning", leave=False) as bar:
        for _ in range(recipe["epochs"]):
            order = torch.randperm(len(examples), generator=generator).tolist()
            for start in range(0, len(order), batch_size):
                batch = [examples[i] for i in order[start:start + batch_size]]
                input_ids, labels, attention = collate(tokenizer, batch, model.device)
                loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return model, losses
# --8<-- [end:idea]


def relative_update(model):
    """||delta W|| / ||W0|| (Frobenius) over the matrices LoRA adapted: low rank is not small norm."""
    delta = base = 0.0
    for module in model.modules():
        if hasattr(module, "get_delta_weight") and "default" in getattr(module, "lora_A", {}):
            delta += module.get_delta_weight("default").float().pow(2).sum().item()
            base += module.base_layer.weight.float().pow(2).sum().item()
    return (delta / base) ** 0.5


def recipe_list(text):
    """``--recipes gentle,aggressive`` -> the tags, in the order of RECIPES."""
    tags = [t.strip() for t in text.split(",") if t.strip()]
    if not tags or any(t not in RECIPE_TAGS for t in tags):
        raise argparse.ArgumentTypeError(f"unknown recipe(s) {text!r}; choose from {','.join(RECIPE_TAGS)}")
    return [t for t in RECIPE_TAGS if t in tags]


def count(flags):
    return sum(bool(f) for f in flags)


def main(args):
    preset = PRESETS[args.scale]
    recipes = {name: r for name, r in RECIPES.items() if r["tag"] in args.recipes}
    device = pick_device(args.device)
    items = load_items(args.data)  # checked in full before any model loads
    general = general_knowledge()
    n_train = preset["n_train"] if args.data is None else min(preset["n_train"], len(items) // 2)
    writer = ResultsWriter(args.out, "activating_pretrained_knowledge/smollm2_capitals", args)
    per_seed = []
    for split_seed in preset["split_seeds"]:
        seed = args.seed + split_seed  # --seed moves the train/held-out split too, not only the training order
        seed_everything(seed)
        train_items, heldout = split(items, n_train, seed=seed)
        model, tokenizer = load_causal_lm(args.model, device)
        before = measure(model, tokenizer, heldout, general)
        before["ranked_first"] = ranked_first(model, tokenizer, heldout)
        # No training at all: the bare format shown by a few answered training questions in the prompt.
        shots = [(it.bare, it.answer) for it in train_items[:N_SHOTS]]
        in_context = ask(model, tokenizer, [it.bare for it in heldout], max_new_tokens=10, shots=shots)
        before["in_context_exact"] = [is_bare_match(a, it) for a, it in zip(in_context, heldout)]
        any_answer = {x.lower() for it in items for x in it.accepted}  # the format, right or wrong
        before["in_context_bare_any"] = [bare(a) in any_answer for a in in_context]
        result = {"seed": seed, "n_heldout": len(heldout), "known": count(before["knows"]), "before": before}
        for name, recipe in recipes.items():
            model, tokenizer = load_causal_lm(args.model, device)  # fresh weights for each recipe
            trained_on = shuffled(train_items) if recipe.get("shuffled") else train_items
            result[name] = run_recipe(model, tokenizer, trained_on, heldout, general, before, recipe,
                                      preset["batch_size"], seed)
        per_seed.append(result)
    summary(writer, args, per_seed, recipes, items, general, n_train, device)
    writer.save()


def shuffled(items):
    """The same questions, each answered with the next item's answer: every answer wrong, the format kept."""
    return [Item(**{**vars(it), "answer": nxt.answer, "accepted": (nxt.answer,)})
            for it, nxt in zip(items, items[1:] + items[:1])]


def run_recipe(model, tokenizer, train_items, heldout, general, before, recipe, batch_size, seed):
    """Fine-tune with one recipe, probe again, and count what changed against ``before``."""
    started = time.perf_counter()
    tuned, losses = fine_tune(model, tokenizer, train_items, recipe, batch_size, seed)
    seconds = time.perf_counter() - started
    trainable = sum(p.numel() for p in tuned.parameters() if p.requires_grad)
    share, update = trainable / sum(p.numel() for p in tuned.parameters()), relative_update(tuned)
    tuned = tuned.merge_and_unload()  # W0 + BA folded into one matrix: the same model, faster to probe
    after = measure(tuned, tokenizer, heldout, general)
    after["ranked_first"] = ranked_first(tuned, tokenizer, heldout)  # suppressed, or erased?
    right, known, ranked = after["exact"], before["knows"], before["ranked_first"]
    any_answer = {a.lower() for it in [*heldout, *train_items] for a in it.accepted}  # the format, right or wrong
    lost = [k and not a for k, a in zip(known, after["knows"])]  # known before, no longer produced
    return {
        "after": after, "losses": losses, "seconds": seconds,
        "trainable": trainable, "trainable_share": share, "relative_update": update,
        "right": count(right),
        "bare_any": count(bare(a) in any_answer for a in after["bare_answer"]),
        "right_known": count(r and k for r, k in zip(right, known)),
        "right_unknown": count(r and not k for r, k in zip(right, known)),
        "right_ranked": count(r and f for r, f in zip(right, ranked)),
        "right_unknown_to_both": count(r and not k and not f for r, k, f in zip(right, known, ranked)),
        "knowledge_kept": count(a and k for a, k in zip(after["knows"], known)),
        "lost_still_ranked": count(x and f for x, f in zip(lost, after["ranked_first"])),
        "ranked_kept": count(f and g for f, g in zip(ranked, after["ranked_first"])),
        "general_kept": count(a and k for a, k in zip(after["general_knows"], before["general_knows"])),
        "general_echoes": count(k and not a and echoes_the_question(x, g) for a, k, x, g in zip(
            after["general_knows"], before["general_knows"], after["general_answer"], general)),
        "train_exact": count(is_bare_match(a, it) for a, it in zip(ask(
            tuned, tokenizer, [it.bare for it in train_items], 10), train_items)),
    }


def wilson(k, n, z=1.96):
    """95 % Wilson score interval for k successes in n trials (sound at small n and near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p, spread = k / n, z * ((k / n) * (1 - k / n) / n + z * z / (4 * n * n)) ** 0.5
    centre, scale = p + z * z / (2 * n), 1 + z * z / n
    return (centre - spread) / scale, (centre + spread) / scale


def summary(writer, args, per_seed, recipes, items, general, n_train, device):
    """Print, tabulate and plot the first split in detail (the metrics the page reads); other splits
    (gpu scale) go into the seed table."""
    first = per_seed[0]
    n, known, unknown = first["n_heldout"], first["known"], first["n_heldout"] - first["known"]
    before = first["before"]
    known_flags, ranked = before["knows"], before["ranked_first"]
    one_phrasing, n_ranked = count(before["knows_one_phrasing"]), count(ranked)
    both = count(k and f for k, f in zip(known_flags, ranked))
    unknown_to_both = count(not k and not f for k, f in zip(known_flags, ranked))
    general_known, n_general = count(before["general_knows"]), len(general)
    noun = "countries" if args.data is None else "facts"
    print(f"SmolLM2-135M-Instruct on {device}: {n_train} training {noun}, {n} held out")
    print(f"  before fine-tuning: bare-format exact match {count(before['exact'])}/{n}; known by the free-form "
          f"probe {known}/{n} (one phrasing: {one_phrasing}), ranked first among {N_DISTRACTORS + 1} answers "
          f"{n_ranked}/{n}, by both {both}, by neither {unknown_to_both}; general facts known {general_known}/{n_general}")
    writer.metric("n_train", n_train)
    writer.metric("n_heldout", n)
    writer.metric("known_before", known)
    writer.metric("known_before_one_phrasing", one_phrasing)
    writer.metric("n_candidates", N_DISTRACTORS + 1)
    writer.metric("ranked_first_before", n_ranked)
    writer.metric("known_and_ranked_first", both)
    writer.metric("ranked_first_not_known", n_ranked - both)
    writer.metric("known_not_ranked_first", known - both)
    writer.metric("unknown_to_both", unknown_to_both)
    writer.metric("n_general", n_general)
    writer.metric("general_known_before", general_known)
    writer.metric("exact_before", count(before["exact"]))
    writer.metric("known_share_before", known / n, "{:.0%}")  # the base rate a recipe's right answers are read against
    writer.metric("in_context_exact", count(before["in_context_exact"]))
    writer.metric("in_context_bare_any", count(before["in_context_bare_any"]))
    writer.metric("n_shots", N_SHOTS)
    writer.metric("logprob_before", sum(before["logprob"]) / n, "{:.2f}")
    in_context = before["in_context_exact"]
    table = [["before fine-tuning", "0", f"{count(before['exact'])}/{n}", "-", "-",
              f"{known}/{known}", f"{general_known}/{general_known}", f"{sum(before['logprob']) / n:.2f}", "-", "-"],
             [f"no fine-tuning, {N_SHOTS} answered examples in the prompt", "0", f"{count(in_context)}/{n}",
              f"{count(c and k for c, k in zip(in_context, known_flags))}/{count(in_context)}",
              f"{count(c and not k for c, k in zip(in_context, known_flags))}/{unknown}", "-", "-", "-", "-", "-"]]
    print(f"  in context ({N_SHOTS} answered examples in the prompt, no training): exact {count(in_context)}/{n}")
    for name, recipe in recipes.items():
        tag, r = recipe["tag"], first[name]
        logprob = sum(r["after"]["logprob"]) / n
        table.append([name, f"{r['trainable']:,} ({r['trainable_share']:.2%})", f"{r['right']}/{n}",
                      f"{r['right_known']}/{r['right']}", f"{r['right_unknown']}/{unknown}",
                      f"{r['knowledge_kept']}/{known}", f"{r['general_kept']}/{general_known}", f"{logprob:.2f}",
                      f"{r['relative_update']:.1%}",
                      f"{r['seconds']:.0f} s"])
        writer.metric(f"{tag}_exact", r["right"])
        writer.metric(f"{tag}_share_of_known", r["right"] / max(known, 1), "{:.0%}")
        writer.metric(f"{tag}_right_known_share", r["right_known"] / max(r["right"], 1), "{:.0%}")
        writer.metric(f"{tag}_unknown_learned_share", r["right_unknown"] / max(unknown, 1), "{:.0%}")
        writer.metric(f"{tag}_knowledge_kept", r["knowledge_kept"])
        writer.metric(f"{tag}_knowledge_kept_share", r["knowledge_kept"] / max(known, 1), "{:.0%}")
        writer.metric(f"{tag}_knowledge_lost", known - r["knowledge_kept"])
        writer.metric(f"{tag}_right_ranked_share", r["right_ranked"] / max(r["right"], 1), "{:.0%}")
        writer.metric(f"{tag}_right_unknown_to_both", r["right_unknown_to_both"])
        writer.metric(f"{tag}_unknown_to_both_learned_share", r["right_unknown_to_both"] / max(unknown_to_both, 1),
                      "{:.0%}")
        writer.metric(f"{tag}_general_kept", r["general_kept"])
        writer.metric(f"{tag}_general_lost", general_known - r["general_kept"])
        writer.metric(f"{tag}_general_kept_share", r["general_kept"] / max(general_known, 1), "{:.0%}")
        writer.metric(f"{tag}_general_echoes", r["general_echoes"])
        writer.metric(f"{tag}_logprob", logprob, "{:.2f}")
        writer.metric(f"{tag}_trainable", r["trainable"], "{:,}")
        writer.metric(f"{tag}_trainable_share", r["trainable_share"], "{:.2%}")
        writer.metric(f"{tag}_train_exact", r["train_exact"] / n_train, "{:.0%}")
        for group, k, size in (("known", r["right_known"], known), ("unknown", r["right_unknown"], unknown)):
            low, high = wilson(k, size)  # P(right | known before) and P(right | unknown before)
            writer.metric(f"{tag}_p_right_{group}", k / max(size, 1), "{:.0%}")
            writer.metric(f"{tag}_p_right_{group}_lo", low, "{:.0%}")
            writer.metric(f"{tag}_p_right_{group}_hi", high, "{:.0%}")
        writer.metric(f"{tag}_lost_still_ranked", r["lost_still_ranked"])
        writer.metric(f"{tag}_bare_any", r["bare_any"])  # answers that are some item's answer, bare: the format
        writer.metric(f"{tag}_ranked_kept_share", r["ranked_kept"] / max(n_ranked, 1), "{:.0%}")
        writer.metric(f"{tag}_seconds", r["seconds"], "{:.0f} s")
        writer.metric(f"{tag}_relative_update", r["relative_update"], "{:.1%}")
        print(f"  {name}: update {r['relative_update']:.1%} of |W0|, exact {r['right']}/{n} "
              f"({r['right_known']} of them known before, "
              f"{r['right_unknown']} of {unknown} unknown; {r['right_ranked']} ranked first before), free-form "
              f"knowledge kept {r['knowledge_kept']}/{known} (of the rest, {r['lost_still_ranked']} still ranked "
              f"first), ranked first kept {r['ranked_kept']}/{n_ranked}, general facts kept {r['general_kept']}/{general_known}, "
              f"mean log p(answer) {logprob:.2f}, "
              f"trainable {r['trainable']:,} ({r['trainable_share']:.2%}), {r['seconds']:.0f} s")
    writer.table("summary", ["model", "trainable parameters", "held-out exact match (bare)",
                             "of those, known before", "unknown items now right",
                             "free-form knowledge kept", "general facts kept", "mean log p(desired answer)",
                             "update size |ΔW| / |W0|", "training time"],
                 table, caption="Held-out countries only; 'known' = the untuned model named the right "
                                "city when asked plainly (two phrasings, or its reply begun as a sentence). "
                                "General facts: of the facts outside the training relation the untuned model "
                                "named, how many it still names. Update size: the Frobenius norm of "
                                "the LoRA update over that of the weights it adapts." + (
                                    " The third and fourth recipes each change one factor of the aggressive "
                                    "one; the last trains the gentle one on wrong answers."
                                    if len(recipes) == len(RECIPES) else ""))
    shown = list(recipes)[:2]  # the gentle and the aggressive recipe, unless --recipes chose others
    heldout = split(items, n_train, seed=first["seed"])[1]
    answers_after = zip(*[first[name]["after"]["bare_answer"] for name in shown])
    examples = [[it.name, it.answer, "yes" if k else "no", b.strip()[:40], *[a.strip()[:30] for a in after]]
                for it, k, b, after in zip(heldout, known_flags, before["bare_answer"], answers_after)][:12]
    writer.table("examples", ["country" if args.data is None else "question", "capital" if args.data is None
                              else "answer", "known before", "answer before", *[recipes[n]["tag"] for n in shown]],
                 examples, caption=f"The first 12 held-out {noun}, answers to the bare-format question.")
    after, tag = first[shown[0]]["after"], recipes[shown[0]]["tag"]
    writer.table("general_lost", ["general fact", "answer", "answer before", f"{tag} recipe"],
                 [[g.name, g.answer, b.strip()[:40], x.strip()[:30]]
                  for g, k, kept, b, x in zip(general, before["general_knows"], after["general_knows"],
                                              before["general_answer"], after["general_answer"]) if k and not kept][:12],
                 caption=f"General facts the untuned model named but the {tag} recipe no longer does (at most "
                         "12), asked plainly before and after.")
    if len(per_seed) > 1:
        writer.table("seeds", ["split seed", "known before", *[f"{n.split(' (')[0]}: exact (known)" for n in recipes]],
                     [[s["seed"], s["known"], *[f"{s[n]['right']} ({s[n]['right_known']})" for n in recipes]]
                      for s in per_seed], caption="Every split at this scale.")
    plot(writer, first, recipes)


def plot(writer, result, recipes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    known = result["known"]
    unknown = result["n_heldout"] - known
    labels = [name.split(" (")[0].replace(", ", ",\n") for name in recipes]
    for i, name in enumerate(recipes):
        r = result[name]
        left.bar(i, r["right_known"], color="#2e7d32", label="known before, now right" if i == 0 else None)
        left.bar(i, r["right_unknown"], bottom=r["right_known"], color="#c62828",
                 label="unknown before, now right" if i == 0 else None)
        left.scatter(i, r["knowledge_kept"], marker="_", s=900, color="black",
                     label="free-form knowledge kept" if i == 0 else None, zorder=3)
        right.plot(r["losses"], label=labels[i])
    left.axhline(known, ls="--", color="grey", lw=1, label=f"known before, by the probe ({known})")
    left.set_xticks(range(len(labels)), labels)
    left.set_ylabel(f"held-out countries (of {known + unknown})")
    left.set_title("bare-format answers after fine-tuning")
    left.legend(fontsize=8, loc="upper right")
    right.set_xlabel("step")
    right.set_ylabel("loss on answer tokens")
    right.set_yscale("log")
    right.set_title("training loss")
    right.legend(fontsize=8)
    fig.tight_layout()
    writer.figure("activation", fig, caption="Left: which held-out items each recipe gets right. "
                                              "Right: training loss per step.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "knowledge", "the country capitals")
    parser.add_argument("--recipes", type=recipe_list, default=RECIPE_TAGS, metavar="TAGS",
                        help=f"comma-separated recipes to run, of {','.join(RECIPE_TAGS)} (default: all)")
    run_main(main, parser)
