"""Prompting or a small trained model: accuracy against in-context examples, cost per query, break-even volume.

Two arms on the same test messages, on the same machine:

- prompted: SmolLM2-135M-Instruct with k labelled examples as earlier chat turns (balanced
  across labels; several draws of examples for each k), labels scored as on the prompting
  page: the log-probability of each label word's first token (for the three sentiment words,
  the whole word) right after the prompt, raw and with contextual calibration. The shared prefix (system prompt, examples, instruction) is encoded once per
  prompt and its keys/values reused, so a query costs its own tokens plus attention to the
  prefix; a few queries are also timed with the whole prompt recomputed, as a call without
  prefix caching pays;
- trained: all-MiniLM-L6-v2 frozen, its mean-pooled vectors feeding a linear head trained on
  every training label (the freezing page's recipe); the same head is also trained on the k
  examples each prompt shows, to compare at equal labels.

Costs: prompt tokens per query, seconds per query (batched), peak memory, and the head's
one-time training seconds; the break-even volume is training seconds / (prompt seconds per
query - head seconds per query): CPU seconds on the machine that ran it.

    python snippets/efficiency_of_prompting/prompt_vs_trained_head.py --scale ci
"""

import copy

import torch
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, load_causal_lm, load_encoder, pick_device, run_main, seed_everything, \
    snippet_parser
from fieldguide.classification import (LABELS, PeakMemory, Stopwatch, accuracy, label_subset, length_batches)
from fieldguide.errors import FieldGuideError
from fieldguide.models import model_folder
from fieldguide.user_data import add_data_flag, classification_splits

# The head's recipe is the freezing page's mean-pooled one (lr and l2 chosen there on validation).
HEAD = {"head_steps": 300, "lr": 1e-2, "l2": 1e-2, "max_length": 64}
PRESETS = {  # test_messages: a label-balanced subset of the test split (the time budget); None = all
    "ci": {"shots": [0, 1, 2, 4, 8], "draws": [0, 1, 2], "test_messages": 72, "uncached_queries": 6,
           "batch_size": 48, **HEAD},
    "gpu": {"shots": [0, 1, 2, 4, 8, 16, 32], "draws": list(range(5)), "test_messages": None,
            "uncached_queries": 32, "batch_size": 128, **HEAD},
}
CONTENT_FREE = ["N/A", "", "[MASK]"]  # inputs that carry no sentiment (Zhao et al., 2021)


def instruction(labels):
    """The prompting page's instruction for the customer-message labels; for your --data, your label names."""
    if tuple(labels) == LABELS:
        return ("Classify the sentiment of this customer message as positive, negative or neutral. "
                "Answer with one word.\n\nMessage: ")
    return f"Classify this message as {', '.join(labels[:-1])} or {labels[-1]}. Answer with one word.\n\nMessage: "


# --8<-- [start:idea]
def chat(examples, text, task):
    """k labelled examples as earlier chat turns, then the query: the k-shot prompt."""
    turns = []
    for example_text, label in examples:
        turns += [{"role": "user", "content": task + example_text}, {"role": "assistant", "content": label}]
    return turns + [{"role": "user", "content": task + text}]


@torch.no_grad()
def label_logprobs(model, prefix, texts, label_ids, batch_size, cached=True):
    """log p(label word | prompt) per text and label; the shared prefix's keys/values reused (cached) or recomputed."""
    prefix_ids, shared, suffix, tokenizer = prefix
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: little padding
    out = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer([texts[i] + suffix for i in order[start:start + batch_size]], return_tensors="pt",
                          padding=True, add_special_tokens=False).to(model.device)
        n, p = batch.input_ids.shape[0], prefix_ids.shape[1]
        mask = torch.cat([batch.attention_mask.new_ones(n, p), batch.attention_mask], dim=1)
        if cached:  # the query's own tokens only, attending to the stored prefix
            cache = copy.deepcopy(shared)
            cache.batch_repeat_interleave(n)
            hidden = model.model(input_ids=batch.input_ids, attention_mask=mask, cache=cache).last_hidden_state
            last = batch.attention_mask.sum(1) - 1
        else:  # what a call without prefix caching computes: every prompt token, every time
            ids = torch.cat([prefix_ids.expand(n, -1), batch.input_ids], dim=1)
            hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
            last = p + batch.attention_mask.sum(1) - 1
        logits = model.lm_head(hidden[torch.arange(n), last])  # the position that predicts the answer
        out.append(torch.log_softmax(logits.float(), dim=-1)[:, label_ids].cpu())
    result = torch.empty(len(texts), len(label_ids))
    result[order] = torch.cat(out)
    return result


def calibrate(logprobs, content_free):
    """Contextual calibration: divide out the label probabilities the prompt gives a content-free message."""
    return torch.log_softmax(logprobs, dim=-1) - torch.softmax(content_free, dim=-1).mean(0).log()
# --8<-- [end:idea]


@torch.no_grad()
def encode_prefix(model, tokenizer, examples, task):
    """Render the k-shot chat, split it where the query goes, encode the shared prefix once."""
    marker = "\u2063"  # stands in for the query to find where the shared prefix ends
    rendered = tokenizer.apply_chat_template(chat(examples, marker, task), tokenize=False, add_generation_prompt=True)
    prefix, suffix = rendered.split(marker)
    prefix_ids = tokenizer(prefix, return_tensors="pt", add_special_tokens=False).input_ids.to(model.device)
    return prefix_ids, model(input_ids=prefix_ids, use_cache=True).cache, suffix, tokenizer


# --8<-- [start:head]
@torch.no_grad()
def embed(encoder, tokenizer, texts, max_length):
    """The frozen encoder's masked mean of its last-layer token vectors, one per text."""
    vectors = torch.zeros(len(texts), encoder.config.hidden_size)
    for indices, batch in length_batches(tokenizer, texts, 64, max_length):
        batch = batch.to(encoder.device)
        hidden = encoder(**batch).last_hidden_state
        mask = batch.attention_mask.unsqueeze(-1).to(hidden.dtype)
        vectors[indices] = ((hidden * mask).sum(1) / mask.sum(1)).cpu()
    return vectors


def train_head(features, labels, n_labels, steps, lr, l2):
    """Logistic regression on the frozen vectors: full-batch Adam, an L2 penalty on the weights."""
    head = torch.nn.Linear(features.shape[1], n_labels)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    gold = torch.tensor(labels)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(head(features), gold) + l2 * head.weight.pow(2).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return head.eval()
# --8<-- [end:head]


def first_token_ids(tokenizer, labels):
    """Each label word's first token (the answer's first token is what the prompt predicts); they must differ."""
    ids = [tokenizer(label, add_special_tokens=False).input_ids[0] for label in labels]
    if len(set(ids)) < len(ids):
        raise FieldGuideError(f"labels {', '.join(labels)}: two of them start with the same token for "
                              f"{tokenizer.name_or_path}; rename them so each label word starts differently")
    return ids


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits, labels = classification_splits(args.data, args.seed)  # the shipped set, or your --data file
    from transformers import AutoTokenizer

    label_ids = first_token_ids(AutoTokenizer.from_pretrained(model_folder(args.model)), labels)
    model_folder(args.encoder)  # an unknown encoder fails here, before any model loads
    train, full_test = splits["train"], splits["test"]
    n_test = min(preset["test_messages"] or len(full_test), len(full_test))
    test = full_test if n_test == len(full_test) else label_subset(full_test, n_test, 0)  # fixed, label-balanced
    print(f"on {device}: {len(test)} test messages (of {len(full_test)}), {len(train)} training labels, "
          f"labels {', '.join(labels)}")

    # The trained arm: frozen encoder + linear head on every training label.
    with PeakMemory(device) as head_memory:
        encoder, enc_tokenizer = load_encoder(args.encoder, device)
        encoder.eval()
        embed(encoder, enc_tokenizer, test.texts[:8], preset["max_length"])  # warm-up, not timed
        with Stopwatch() as training:
            train_vectors = embed(encoder, enc_tokenizer, train.texts, preset["max_length"])
            torch.manual_seed(args.seed)
            head = train_head(train_vectors, train.labels, len(labels), preset["head_steps"], preset["lr"],
                              preset["l2"])
        with Stopwatch() as serving, torch.no_grad():
            test_vectors = embed(encoder, enc_tokenizer, test.texts, preset["max_length"])
            predicted = head(test_vectors).argmax(-1).tolist()
    head_accuracy = accuracy(predicted, test.labels)
    head_per_query = serving.seconds / len(test)
    head_tokens = sum(len(enc_tokenizer(t, truncation=True, max_length=preset["max_length"]).input_ids)
                      for t in test.texts) / len(test)
    print(f"frozen encoder + linear head, {len(train)} labels: accuracy {head_accuracy:.1%}; trained in "
          f"{training.seconds:.2f} s, {1000 * head_per_query:.1f} ms per query, peak {head_memory.peak_mb:.0f} MB")

    # The prompted arm: k examples in the prompt, one draw of them per seed.
    model, runs = prompted_arm(args, preset, device, train=train, test=test, labels=labels, label_ids=label_ids,
                               train_vectors=train_vectors, test_vectors=test_vectors)
    writer = ResultsWriter(args.out, "efficiency_of_prompting/prompt_vs_trained_head", args)
    writer.metric("llm_params", sum(p.numel() for p in model.parameters()), "{:,}")
    writer.metric("encoder_params", sum(p.numel() for n, p in encoder.named_parameters() if not n.startswith("pooler."))
                  + head.weight.numel() + head.bias.numel(), "{:,}")  # the frozen body and its head ([CLS] pooler unused)
    report(writer, runs, preset, labels, len(train), len(test), len(full_test), {
        "accuracy": head_accuracy, "per_query": head_per_query, "train_seconds": training.seconds,
        "peak_mb": head_memory.peak_mb, "tokens": head_tokens})
    writer.save()


def prompted_arm(args, preset, device, *, train, test, labels, label_ids, train_vectors, test_vectors):
    """SmolLM2 prompted with k labelled examples, several draws per k: the model and one measured run per prompt."""
    shots = [k for k in preset["shots"] if k <= len(train)]
    task = instruction(labels)
    row = {t: i for i, t in enumerate(train.texts)}  # a training text's row in train_vectors
    with PeakMemory(device) as loading:  # the weights, and a first pass that touches them all (not timed)
        model, tokenizer = load_causal_lm(args.model, device)
        tokenizer.padding_side = "right"
        label_logprobs(model, encode_prefix(model, tokenizer, [], task), test.texts[:8], label_ids, 8)
    runs = []
    for k in tqdm(shots, desc="k-shot prompts"):
        for draw in (preset["draws"] if k else preset["draws"][:1]):
            subset = label_subset(train, k, args.seed + draw) if k else None
            examples = list(zip(subset.texts, [labels[y] for y in subset.labels])) if k else []
            with PeakMemory(device) as memory:
                with Stopwatch() as setup:  # once per prompt: the shared prefix and the calibration inputs
                    prefix = encode_prefix(model, tokenizer, examples, task)
                    content_free = label_logprobs(model, prefix, CONTENT_FREE, label_ids, preset["batch_size"])
                with Stopwatch() as clock:
                    logprobs = label_logprobs(model, prefix, test.texts, label_ids, preset["batch_size"])
            raw = logprobs.argmax(-1).tolist()
            run = {"k": k, "draw": draw, "raw": accuracy(raw, test.labels),
                   "calibrated": accuracy(calibrate(logprobs, content_free).argmax(-1).tolist(), test.labels),
                   "raw_top_share": max(raw.count(c) for c in range(len(labels))) / len(raw),
                   "per_query": clock.seconds / len(test), "setup": setup.seconds,
                   "peak_mb": loading.peak_mb + memory.peak_mb, "prefix_tokens": prefix[0].shape[1]}
            if k:  # the same k examples given to the linear head instead of the prompt
                torch.manual_seed(args.seed + draw)
                small = train_head(train_vectors[[row[t] for t in subset.texts]], subset.labels, len(labels),
                                   preset["head_steps"], preset["lr"], preset["l2"])
                with torch.no_grad():
                    run["head_same_examples"] = accuracy(small(test_vectors).argmax(-1).tolist(), test.labels)
            if draw == preset["draws"][0]:  # the whole prompt recomputed for a few queries: no prefix cache
                few = test.texts[:preset["uncached_queries"]]
                with Stopwatch() as uncached:
                    full = label_logprobs(model, prefix, few, label_ids, preset["batch_size"], cached=False)
                run["per_query_uncached"] = uncached.seconds / len(few)
                run["cache_diff"] = (full - logprobs[:len(few)]).abs().max().item()
                run["query_tokens"] = sum(len(tokenizer(t + prefix[2], add_special_tokens=False).input_ids)
                                          for t in test.texts) / len(test)
            runs.append(run)
            print(f"  k={k}, draw {draw}: accuracy {run['raw']:.1%} raw, {run['calibrated']:.1%} calibrated; "
                  f"prefix {run['prefix_tokens']} tokens, {1000 * run['per_query']:.1f} ms per query")
    return model, runs


def mean(values):
    values = list(values)
    return sum(values) / len(values)


# --8<-- [start:break-even]
def break_even(train_seconds, prompt_per_query, head_per_query):
    """Queries after which the head's one-time training has cost less than prompting's extra cost per query."""
    saved = prompt_per_query - head_per_query  # seconds each query saves by using the trained head
    return train_seconds / saved if saved > 0 else None  # None: the prompt is as cheap per query; never
# --8<-- [end:break-even]


def report(writer, runs, preset, labels, n_train, n_test, n_full_test, head):
    """Tables, metrics and the figure from the measured runs."""
    shots = list(dict.fromkeys(r["k"] for r in runs))
    by_k = {k: [r for r in runs if r["k"] == k] for k in shots}
    first = {k: rs[0] for k, rs in by_k.items()}  # draw 0: the one timed without the prefix cache too
    calibrated = {k: mean(r["calibrated"] for r in rs) for k, rs in by_k.items()}
    per_query = {k: mean(r["per_query"] for r in rs) for k, rs in by_k.items()}
    prompt_tokens = {k: mean(r["prefix_tokens"] for r in rs) + first[k]["query_tokens"] for k, rs in by_k.items()}
    k_max, best = shots[-1], max(shots, key=lambda k: calibrated[k])
    writer.table("accuracy", ["in-context examples k", "draws", "raw (mean)", "calibrated (mean)", "calibrated min",
                              "calibrated max", "linear head on the same k examples (mean)"],
                 [[k, len(rs), mean(r["raw"] for r in rs), calibrated[k], min(r["calibrated"] for r in rs),
                   max(r["calibrated"] for r in rs),
                   mean(r["head_same_examples"] for r in rs) if k else None] for k, rs in by_k.items()],
                 formats=["{}", "{}", "{:.1%}", "{:.1%}", "{:.1%}", "{:.1%}", "{:.1%}"],
                 caption=f"SmolLM2-135M-Instruct prompted with k labelled examples, {n_test} test messages (a "
                         f"label-balanced subset of the {n_full_test}); each draw is another set of k examples. "
                         f"For comparison, the frozen encoder + linear head trained on all {n_train} labels: "
                         f"{head['accuracy']:.1%}.")
    rows = []
    for k in shots:
        rows.append([f"prompt, k = {k}", k, calibrated[k], prompt_tokens[k], first[k]["query_tokens"],
                     1000 * per_query[k], 1000 * first[k]["per_query_uncached"], mean(r["setup"] for r in by_k[k]),
                     max(r["peak_mb"] for r in by_k[k]), break_even(head["train_seconds"], per_query[k],
                                                                   head["per_query"])])
    rows.append(["frozen MiniLM + linear head", n_train, head["accuracy"], head["tokens"], head["tokens"],
                 1000 * head["per_query"], None, head["train_seconds"], head["peak_mb"], None])
    writer.table("costs", ["arm", "labelled examples", "accuracy", "tokens per query (whole prompt)",
                           "tokens computed per query (prefix cached)", "ms per query", "ms per query, prefix "
                           "recomputed", "one-time seconds", "peak memory (MB)", "break-even queries"], rows,
                 formats=["{}", "{}", "{:.1%}", "{:.0f}", "{:.0f}", "{:.1f}", "{:.0f}", "{:.2f}", "{:.0f}", "{:.0f}"],
                 caption=f"Costs on the machine that built this page, batched ({preset['batch_size']} queries a "
                         f"batch for the prompt, 64 for the encoder). Prompt accuracy: calibrated, mean over draws. "
                         f"One-time seconds: the prompt's prefix and calibration inputs, the head's training "
                         f"(encoding the {n_train} labelled messages and fitting the head). Peak memory: what "
                         f"loading and running the arm added to the process. Prefix recomputed: "
                         f"{preset['uncached_queries']} queries timed with the whole prompt run every time. "
                         "Break-even: the head's training seconds over the seconds it saves per query.")
    writer.table("draws", ["k", "draw", "raw accuracy", "calibrated accuracy", "raw: share of the top label",
                           "linear head on the same examples", "prefix tokens", "ms per query"],
                 [[r["k"], r["draw"], r["raw"], r["calibrated"], r["raw_top_share"], r.get("head_same_examples"),
                   r["prefix_tokens"], 1000 * r["per_query"]] for r in runs],
                 formats=["{}", "{}", "{:.1%}", "{:.1%}", "{:.0%}", "{:.1%}", "{}", "{:.1f}"],
                 caption="Every prompt: each draw is another set of k labelled examples from the train split.")
    cheapest = min(shots, key=lambda k: per_query[k])
    metrics = {
        "test_messages": (n_test, "{}"), "test_split_messages": (n_full_test, "{}"), "train_labels": (n_train, "{}"),
        "draws": (len(by_k[k_max]), "{}"), "k_max": (k_max, "{}"), "best_k": (best, "{}"),
        "head_accuracy": (head["accuracy"], "{:.1%}"), "head_train_seconds": (head["train_seconds"], "{:.1f} s"),
        "head_ms_per_query": (1000 * head["per_query"], "{:.1f} ms"), "head_peak_mb": (head["peak_mb"], "{:.0f} MB"),
        "head_tokens_per_query": (head["tokens"], "{:.0f}"),
        "zero_shot_raw_accuracy": (first[0]["raw"], "{:.1%}"), "zero_shot_accuracy": (calibrated[0], "{:.1%}"),
        "k_max_accuracy": (calibrated[k_max], "{:.1%}"), "k_max_raw_accuracy": (mean(r["raw"] for r in by_k[k_max]), "{:.1%}"),
        "k_max_accuracy_min": (min(r["calibrated"] for r in by_k[k_max]), "{:.1%}"),
        "k_max_accuracy_max": (max(r["calibrated"] for r in by_k[k_max]), "{:.1%}"),
        "best_prompt_accuracy": (calibrated[best], "{:.1%}"),
        "k_max_head_same_examples": (mean(r["head_same_examples"] for r in by_k[k_max]), "{:.1%}"),
        "one_shot_accuracy": (calibrated.get(1, calibrated[0]), "{:.1%}"),
        "one_shot_raw_top_share": (min(r["raw_top_share"] for r in by_k.get(1, by_k[0])), "{:.0%}"),
        "zero_shot_prompt_tokens": (prompt_tokens[0], "{:.0f}"), "k_max_prompt_tokens": (prompt_tokens[k_max], "{:.0f}"),
        "zero_shot_ms_per_query": (1000 * per_query[0], "{:.1f} ms"),
        "k_max_ms_per_query": (1000 * per_query[k_max], "{:.1f} ms"),
        "k_max_ms_per_query_uncached": (1000 * first[k_max]["per_query_uncached"], "{:.0f} ms"),
        "k_max_uncached_over_cached": (first[k_max]["per_query_uncached"] / per_query[k_max], "{:.1f}x"),
        "cheapest_prompt_k": (cheapest, "{}"),
        "cheapest_prompt_over_head": (per_query[cheapest] / head["per_query"], "{:.0f}x"),
        "k_max_prompt_over_head": (per_query[k_max] / head["per_query"], "{:.0f}x"),
        "k_max_uncached_over_head": (first[k_max]["per_query_uncached"] / head["per_query"], "{:.0f}x"),
        "break_even_queries": (break_even(head["train_seconds"], per_query[cheapest], head["per_query"]), "{:.0f}"),
        "break_even_queries_k_max": (break_even(head["train_seconds"], per_query[k_max], head["per_query"]), "{:.0f}"),
        "prompt_peak_mb": (max(r["peak_mb"] for r in runs), "{:.0f} MB"),
        "cache_max_difference": (max(r["cache_diff"] for r in runs if "cache_diff" in r), "{:.1e}"),
        "accuracy_gap_points": (100 * (head["accuracy"] - calibrated[best]), "{:.0f}"),
    }
    for key, (value, fmt) in metrics.items():
        writer.metric(key, value, fmt)
    print(f"prompted, calibrated mean over draws: " + ", ".join(f"k={k} {calibrated[k]:.1%}" for k in shots)
          + f"; the trained head {head['accuracy']:.1%}")
    print(f"per query: prompt {1000 * per_query[cheapest]:.1f} ms (k={cheapest}, the cheapest) to "
          f"{1000 * per_query[k_max]:.1f} ms (k={k_max}; {1000 * first[k_max]['per_query_uncached']:.0f} ms "
          f"with the prefix recomputed), head {1000 * head['per_query']:.1f} ms; the head trained in "
          f"{head['train_seconds']:.2f} s and pays for itself after "
          f"{writer.data['metrics']['break_even_queries']['text']} queries against the cheapest prompt")
    plot(writer, by_k, calibrated, per_query, first, head, n_train, len(labels))


def plot(writer, by_k, calibrated, per_query, first, head, n_train, n_labels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shots = list(by_k)
    xs = list(range(len(shots)))  # k on an even axis: 0, 1, 2, 4, 8
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.fill_between(xs, [min(r["calibrated"] for r in by_k[k]) for k in shots],
                      [max(r["calibrated"] for r in by_k[k]) for k in shots], color="#8e24aa", alpha=0.15)
    for x, k in zip(xs, shots):
        left.scatter([x] * len(by_k[k]), [r["calibrated"] for r in by_k[k]], color="#8e24aa", s=10, alpha=0.6)
    left.plot(xs, [calibrated[k] for k in shots], marker="o", color="#8e24aa", label="prompt, calibrated")
    left.plot(xs, [mean(r["raw"] for r in by_k[k]) for k in shots], marker="o", ls="--", color="#ce93d8",
              label="prompt, raw")
    left.plot(xs[1:], [mean(r["head_same_examples"] for r in by_k[k]) for k in shots[1:]], marker="s", ls=":",
              color="#00897b", label="linear head on the same k examples")
    left.axhline(head["accuracy"], color="#00897b", lw=1.6, label=f"linear head, all {n_train} labels")
    left.axhline(1 / n_labels, color="black", lw=0.8, alpha=0.4)
    left.set_xticks(xs, [str(k) for k in shots])
    left.set_xlabel("labelled examples in the prompt (k)")
    left.set_ylabel("test accuracy")
    left.set_ylim(0.2, 1.0)
    left.grid(alpha=0.3)
    left.legend(fontsize=8, loc="upper left")
    right.plot(xs, [1000 * per_query[k] for k in shots], marker="o", color="#8e24aa", label="prompt, prefix cached")
    right.plot(xs, [1000 * first[k]["per_query_uncached"] for k in shots], marker="o", ls="--", color="#ce93d8",
               label="prompt, prefix recomputed")
    right.axhline(1000 * head["per_query"], color="#00897b", lw=1.6, label="frozen MiniLM + linear head")
    right.set_yscale("log")
    right.set_xticks(xs, [str(k) for k in shots])
    right.set_xlabel("labelled examples in the prompt (k)")
    right.set_ylabel("ms per query (log scale)")
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    writer.figure("accuracy_and_cost", fig, caption="Left: test accuracy against the number of labelled examples "
                  "in the prompt (line: mean over draws, band: min to max, dots: single draws); the solid green "
                  "line is the frozen encoder + linear head trained on every label, the dotted one the same head "
                  "trained on only the prompt's k examples; the grey line is chance. Right: seconds per query, "
                  "batched, on the machine that built this page.")

if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    parser.add_argument("--encoder", default="minilm-l6",
                        help="the trained arm's encoder: packaged name, local folder or hub id (default: minilm-l6)")
    add_data_flag(parser, "classification", "the customer-message set")
    run_main(main, parser)
