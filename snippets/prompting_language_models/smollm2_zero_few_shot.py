"""Zero- and few-shot prompting of SmolLM2-135M-Instruct: no parameter changes, labels scored by log-probability.

The instruction (and, few-shot, a handful of labelled examples as earlier chat turns)
is written in text. Instead of letting the model generate and parsing its words, we read
the next-token distribution after the prompt and compare the log-probabilities of the
three label words; the most probable one is the prediction. Each label word is a single
token in SmolLM2's vocabulary, so one forward pass scores all three. The part of the
prompt shared by every message (system prompt, instruction, examples) is encoded once
and its keys/values reused, so a message costs only its own tokens.

    python snippets/prompting_language_models/smollm2_zero_few_shot.py --scale ci

Your own labelled texts: ``--data FILE`` (CSV, TSV or JSONL with ``text`` and ``label``). The
prompt then names your labels, the few-shot examples come from your train split and the
test split is scored; each label is scored by the log-probability of its first token, so
your labels must begin with different tokens (checked before the model loads).
"""

import copy

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from fieldguide import (FieldGuideError, ResultsWriter, load_causal_lm, model_folder, pick_device, run_main,
                        seed_everything, snippet_parser)
from fieldguide.classification import LABELS, PeakMemory, Run, Stopwatch, label_subset, per_100, record, scores
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = {
    "ci": {"shots_per_class": 2, "draws": [0], "batch_size": 48},
    "gpu": {"shots_per_class": 2, "draws": [0, 1, 2, 3, 4], "batch_size": 128},
}
CONTENT_FREE = ["N/A", "", "[MASK]"]  # inputs that carry no sentiment (Zhao et al., 2021)
# --8<-- [start:idea]
INSTRUCTION = ("Classify the sentiment of this customer message as positive, negative or neutral. "
               "Answer with one word.\n\nMessage: ")


def chat(examples, text, labels=LABELS):
    """Chat messages: labelled examples as earlier turns, then the message to classify."""
    instruction = instruction_for(labels)
    turns = []
    for example_text, label in examples:
        turns += [{"role": "user", "content": instruction + example_text},
                  {"role": "assistant", "content": labels[label]}]
    return turns + [{"role": "user", "content": instruction + text}]
# --8<-- [end:idea]


def instruction_for(labels):
    """The instruction above for the customer-message labels; for yours (--data), one that names them."""
    if tuple(labels) == LABELS:
        return INSTRUCTION
    return (f"Classify this message as {', '.join(labels[:-1])} or {labels[-1]}. "
            "Answer with the label only.\n\nMessage: ")


def label_token_ids(tokenizer, labels, data=None):
    """The first token of each label: its log-probability scores the label (each shipped label word is one token)."""
    label_ids = [tokenizer(word, add_special_tokens=False).input_ids for word in labels]
    assert tuple(labels) != LABELS or all(len(ids) == 1 for ids in label_ids), "each label word must be one token"
    for i, ids in enumerate(label_ids):
        for j in range(i):
            if ids[0] == label_ids[j][0]:
                raise FieldGuideError(
                    f"--data {data}: labels '{labels[j]}' and '{labels[i]}' begin with the same token "
                    f"({tokenizer.decode(ids[:1])!r}), so scoring first tokens cannot tell them apart; rename one")
    return [ids[0] for ids in label_ids]


@torch.no_grad()
def label_logprobs(model, tokenizer, examples, texts, batch_size, labels=LABELS):
    """log p(label's first token | prompt) for each text and each label: a (texts x labels) tensor."""
    label_ids = label_token_ids(tokenizer, labels)
    marker = "\u2063"  # stands in for the message to find where the shared prefix ends
    rendered = tokenizer.apply_chat_template(chat(examples, marker, labels), tokenize=False,
                                             add_generation_prompt=True)
    prefix, suffix = rendered.split(marker)
    prefix_ids = tokenizer(prefix, return_tensors="pt", add_special_tokens=False).input_ids.to(model.device)
    shared = model(input_ids=prefix_ids, use_cache=True).cache  # keys/values of the prefix, encoded once
    tokenizer.padding_side = "right"
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: little padding
    scores_ = []
    for start in tqdm(range(0, len(texts), batch_size), desc=f"{len(examples)}-shot scoring", leave=False):
        batch = tokenizer([texts[i] + suffix for i in order[start:start + batch_size]], return_tensors="pt",
                          padding=True, add_special_tokens=False).to(model.device)
        n = batch.input_ids.shape[0]
        cache = copy.deepcopy(shared)
        cache.batch_repeat_interleave(n)
        mask = torch.cat([torch.ones(n, prefix_ids.shape[1], dtype=batch.attention_mask.dtype,
                                     device=model.device), batch.attention_mask], dim=1)
        # --8<-- [start:readout]
        hidden = model.model(input_ids=batch.input_ids, attention_mask=mask, cache=cache).last_hidden_state
        last = batch.attention_mask.sum(1) - 1  # the position that predicts the answer's first token
        logits = model.lm_head(hidden[torch.arange(n), last])  # the vocabulary head, only where needed
        scores_.append(torch.log_softmax(logits.float(), dim=-1)[:, label_ids].cpu())
        # --8<-- [end:readout]
    result = torch.empty(len(texts), len(labels))
    result[order] = torch.cat(scores_)  # back in the order of ``texts``
    return result, prefix_ids.shape[1]


# --8<-- [start:calibrate]
def calibrate(logprobs, content_free):
    """Contextual calibration: divide by the label probabilities the prompt gives a content-free message."""
    bias = torch.softmax(content_free, dim=-1).mean(0).log()  # the prompt's prior over the labels
    return torch.log_softmax(logprobs, dim=-1) - bias
# --8<-- [end:calibrate]


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    if args.data is not None:  # your labels' first tokens, checked before the model loads
        label_token_ids(AutoTokenizer.from_pretrained(model_folder(args.model)), labels, args.data)
    test = splits["test"]
    writer = ResultsWriter(args.out, "prompting_language_models/smollm2_zero_few_shot", args)
    with PeakMemory(device) as loading:
        model, tokenizer = load_causal_lm(args.model, device)
    total = sum(p.numel() for p in model.parameters())
    k = min(preset["shots_per_class"] * len(labels), len(splits["train"]))
    settings = [("zero-shot prompting (SmolLM2-135M)", 0, [])]
    for draw in preset["draws"]:
        shots = label_subset(splits["train"], k, args.seed + draw)
        settings.append((f"few-shot prompting, {k} examples (SmolLM2-135M)", draw,
                         list(zip(shots.texts, shots.labels))))
    runs = []
    print(f"SmolLM2-135M-Instruct on {device}, {len(test)} test messages, labels scored by log-probability")
    for name, draw, examples in settings:
        with PeakMemory(device) as memory, Stopwatch() as clock:
            logprobs, prefix_tokens = label_logprobs(model, tokenizer, examples, test.texts, preset["batch_size"],
                                                     labels)
            content_free, _ = label_logprobs(model, tokenizer, examples, CONTENT_FREE, preset["batch_size"], labels)
        tag = "few" if examples else "zero"
        for variant, predicted in (("", logprobs.argmax(-1).tolist()),
                                   (" + calibration", calibrate(logprobs, content_free).argmax(-1).tolist())):
            run = Run(name + variant, len(examples), draw, **scores(predicted, test.labels, len(labels)), trainable=0,
                      total=total, train_seconds=0.0, peak_mb=loading.peak_mb + memory.peak_mb,
                      infer_per_100=per_100(clock.seconds, len(test)))
            runs.append(run)
            counts = ", ".join(f"{label} {predicted.count(c)}" for c, label in enumerate(labels))
            print(f"  {name}{variant}, draw {draw}: accuracy {run.accuracy:.1%}, macro-F1 {run.macro_f1:.3f}; "
                  f"predicted {counts}")
            if draw == preset["draws"][0]:
                key = f"{tag}_shot{'_calibrated' if variant else ''}"
                writer.metric(f"{key}_predicted", counts)
                writer.metric(f"{key}_accuracy", run.accuracy, "{:.1%}")
                writer.metric(f"{key}_macro_f1", run.macro_f1, "{:.3f}")
                writer.metric(f"{key}_top_label_share",  # how far the answers lean to one label
                              max(predicted.count(c) for c in range(len(labels))) / len(predicted), "{:.0%}")
        print(f"    shared prompt {prefix_tokens} tokens, {clock.seconds:.1f} s for {len(test)} messages")
        if draw == preset["draws"][0]:
            writer.metric(f"{tag}_shot_infer_per_100", runs[-1].infer_per_100, "{:.2f} s")
    headlines = [r for r in runs if r.seed == preset["draws"][0]]
    record(writer, headlines, runs, n_test=len(test))
    writer.metric("shots", k)
    writer.metric("test_messages", len(test))
    example = chat(settings[1][2][:1], test.texts[0], labels)
    writer.metric("prompt_example", tokenizer.apply_chat_template(example, tokenize=False,
                                                                  add_generation_prompt=True))
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set (scored on the test split, few-shot "
                  "examples from the train split; the prompt names your labels, each scored by its first token, "
                  "so they must begin with different tokens)")
    run_main(main, parser)
