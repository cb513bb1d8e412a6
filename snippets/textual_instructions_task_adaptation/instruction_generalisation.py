"""Instruction tuning generalises to tasks it never saw: SmolLM2 on eight tasks given only as instructions.

Each task is expressed only by its instruction ("Give the plural of the noun.", "Write the
past tense of the verb.") followed by an input; the answer is the bare output. We
fine-tune (LoRA) on a few dozen examples from four tasks and measure, before and after,
on examples never trained on:

* exact match (the whole answer is the output) on the four *seen* tasks;
* exact match on four *held-out* tasks that never appear in fine-tuning;
* a lenient score (the right output appears somewhere in the answer), which separates
  "does not know" from "knows, but answers in another form".

    python snippets/textual_instructions_task_adaptation/instruction_generalisation.py --scale ci

Your own tasks: ``--data tasks.jsonl``, one object per line with ``task``, ``prompt`` and
``response``. Whole tasks are held out, as with the shipped eight: the first half of your
tasks (in the order they first appear) is fine-tuned on, the rest never is.
"""

import re

from peft import LoraConfig, get_peft_model

from fieldguide import ResultsWriter, load_causal_lm, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import encode, generate, instruction_tasks, supervised_fine_tune
from fieldguide.user_data import add_data_flag, instruction_task_rows

PRESETS = {
    "ci": {"train_per_task": 8, "epochs": 2, "eval_per_task": 6},
    "gpu": {"train_per_task": 8, "epochs": 4, "eval_per_task": 8},
}
# --8<-- [start:idea]
SEEN = ("uppercase", "plural", "opposite", "capital")  # the only tasks fine-tuned on
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def user_message(example):
    """The task is stated only by its instruction; the input follows on its own line."""
    return f"{example['instruction']}\n\n{example['input']}"
# --8<-- [end:idea]


def normalise(text):
    return text.strip().strip("\"'`*").rstrip(".!").strip().lower()


def load_tasks(data):
    """(examples, tasks fine-tuned on): the shipped eight tasks, or your --data file's."""
    if data is None:
        return [{"task": e["task"], "instruction": e["instruction"], "prompt": user_message(e),
                 "response": e["output"]} for e in instruction_tasks()], SEEN
    return instruction_task_rows(data)  # checked in full before any model loads


def score(model, tokenizer, examples, max_new_tokens):
    """Per task: (exact matches, lenient matches, count) and the raw answers."""
    answers = [tokenizer.decode(ids) for ids in generate(model, tokenizer, [e["prompt"] for e in examples],
                                                         max_new_tokens)]
    per_task = {}
    for example, answer in zip(examples, answers):
        exact, lenient, count = per_task.get(example["task"], (0, 0, 0))
        target = normalise(example["response"])  # the shipped outputs are already in this form
        per_task[example["task"]] = (
            exact + (normalise(answer) == target),
            lenient + bool(re.search(rf"(?<!\w){re.escape(target)}(?!\w)", answer.lower())),
            count + 1)
    return per_task, answers


def share(per_task, tasks, which):
    hits = sum(per_task[t][which] for t in tasks)
    return hits / sum(per_task[t][2] for t in tasks)


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    examples, seen = load_tasks(args.data)
    writer = ResultsWriter(args.out, "textual_instructions_task_adaptation/instruction_generalisation", args)
    by_task = {}
    for example in examples:
        by_task.setdefault(example["task"], []).append(example)
    # --8<-- [start:train]
    unseen = [t for t in by_task if t not in seen]  # held out whole: no example of them is trained on
    k, n_eval = preset["train_per_task"], preset["eval_per_task"]
    # A seen task's first examples are trained on, the next ones tested (at most half of the task's).
    tested = {t: min(n_eval, len(by_task[t]) // 2) for t in seen}
    trained = {t: min(k, len(by_task[t]) - tested[t]) for t in seen}
    train_rows = [e for t in seen for e in by_task[t][:trained[t]]]
    eval_rows = ([e for t in seen for e in by_task[t][trained[t]:trained[t] + tested[t]]]
                 + [e for t in unseen for e in by_task[t][:n_eval]])

    model, tokenizer = load_causal_lm(args.model, device)
    max_new = max(12, 2 + max(len(tokenizer(e["response"]).input_ids) for e in examples))  # shipped: 12
    before, answers_before = score(model, tokenizer, eval_rows, max_new)
    model = get_peft_model(model, LORA)
    train = [encode(tokenizer, e["prompt"], e["response"]) for e in train_rows]
    losses = supervised_fine_tune(model, train, tokenizer.pad_token_id, lr=1e-3, epochs=preset["epochs"],
                                  batch_size=8, seed=args.seed)
    after, answers_after = score(model, tokenizer, eval_rows, max_new)
    # --8<-- [end:train]

    print(f"SmolLM2 + LoRA on {len(train)} examples of {len(seen)} tasks ({len(losses)} steps, "
          f"loss {losses[0]:.2f} -> {losses[-1]:.2f}); {n_eval} unseen examples per task"
          + ("" if args.data is None else " (fewer where a task has fewer)"))
    rows = []
    for task in [*seen, *unseen]:
        b, a = before[task], after[task]
        kind = "seen" if task in seen else "held-out task"
        first = by_task[task][0]
        rows.append([task, kind, first.get("instruction", first["prompt"][:60]), f"{b[0]}/{b[2]}",
                     f"{a[0]}/{a[2]}", f"{b[1]}/{b[2]}", f"{a[1]}/{a[2]}"])
        print(f"  {task:17s} ({kind:13s}): exact {b[0]}/{b[2]} -> {a[0]}/{a[2]}, lenient {b[1]}/{b[2]} -> {a[1]}/{a[2]}")
    for group, tasks in (("seen", seen), ("unseen", unseen)):
        for when, result in (("before", before), ("after", after)):
            writer.metric(f"{group}_exact_{when}", share(result, tasks, 0), "{:.0%}")
            writer.metric(f"{group}_lenient_{when}", share(result, tasks, 1), "{:.0%}")
    writer.metric("unseen_tasks_worse", sum(after[t][1] < before[t][1] for t in unseen))
    writer.metric("n_train", len(train))
    writer.metric("steps", len(losses))
    print(f"  held-out tasks, exact match: {share(before, unseen, 0):.0%} -> {share(after, unseen, 0):.0%}; "
          f"lenient: {share(before, unseen, 1):.0%} -> {share(after, unseen, 1):.0%}")
    writer.table("tasks", ["task", "in fine-tuning?", "instruction", "exact, before", "exact, after",
                           "lenient, before", "lenient, after"], rows,
                 caption="Examples never trained on. Exact: the whole answer is the output (case, quotes, "
                         "final full stop ignored). Lenient: the output appears as a word in the answer.")
    writer.table("answers", ["instruction + input", "answer before", "answer after"],
                 [[e["prompt"].replace("\n\n", " / "), b.strip()[:80], a.strip()[:40]]
                  for e, b, a in zip(eval_rows, answers_before, answers_after) if e["task"] in unseen][::n_eval // 2],
                 caption="Held-out tasks: a few answers before and after instruction tuning.")
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "tasks", "the eight shipped tasks")
    run_main(main, parser)
