"""A reward model on SmolLM2 from the concise preference set, and the length bias it learns.

RLHF's first step fits a scalar reward r(x, y) to comparisons with the Bradley-Terry loss

    loss = -log sigmoid( r(x, y_chosen) - r(x, y_rejected) )

Here r is SmolLM2-135M-Instruct with its language-model head replaced by one linear
"score" output (AutoModelForSequenceClassification, num_labels=1), read at the last
non-pad token. Three ways to get one: random heads (before training), a linear head on
the frozen body, and LoRA + head trained with the loss written out; then the same LoRA
run with trl's RewardTrainer. Same split as the DPO snippet: the first pairs of the
training split, the held-out pairs whose filler phrases never occur in training.

In this set the chosen answer is always the shorter one, so "the shorter wins" ranks every
pair right. A probe separates the two: the rejected answer to the question (it contains
the right answer, with filler) against the concise answer to *another* question.

    python snippets/llm_alignment/reward_model_length_bias.py --scale ci
"""

import time

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from tqdm.auto import tqdm

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.chat_data import batches, collate, encode, parameter_counts, preference_pairs
from fieldguide.user_data import add_data_flag, preference_triples

PRESETS = {
    "ci": {"n_train": 16, "epochs": 2, "batch_pairs": 4, "random_heads": 500, "head_steps": 200},
    "gpu": {"n_train": 30, "epochs": 3, "batch_pairs": 4, "random_heads": 500, "head_steps": 200},
}
LR, HEAD_LR = 1e-3, 1e-2
# task_type SEQ_CLS: peft also trains (and saves) the new "score" head, which LoRA alone would leave random
LORA = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="SEQ_CLS",
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])


# --8<-- [start:idea]
def rewards(model, texts, pad_id):
    """One scalar per text: the score head on the last non-pad token (AutoModelForSequenceClassification)."""
    batch = collate(texts, pad_id, model.device)
    return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.squeeze(-1)


def bradley_terry_loss(r_chosen, r_rejected):
    """-log P(chosen beats rejected), with P = sigmoid of the reward difference (Bradley-Terry)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def train_reward_model(model, train, pad_id, preset, seed):
    """The loss written out: chosen and rejected through the model in one batch, AdamW."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)
    model.train()
    losses = []
    for epoch in tqdm(range(preset["epochs"]), desc="reward model (ours)", leave=False):
        for group in batches(train, preset["batch_pairs"], seed=seed + epoch):
            r = rewards(model, [p["chosen"] for p in group] + [p["rejected"] for p in group], pad_id)
            loss = bradley_terry_loss(r[:len(group)], r[len(group):])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
    model.eval()
    return losses
# --8<-- [end:idea]


# --8<-- [start:probe]
def readout(r, lengths):
    """What a reward decides on the held-out pairs and on the off-topic probe.

    ``r`` holds the rewards, per held-out prompt, of its chosen (concise) and rejected
    (rambling) answers and of the concise answer to another question; ``lengths`` their tokens.
    """
    r = {name: torch.as_tensor(values, dtype=torch.float64).cpu() for name, values in r.items()}
    margin = r["chosen"] - r["rejected"]
    every = torch.cat([r["chosen"], r["rejected"], r["off_topic"]])
    size = torch.tensor(lengths["chosen"] + lengths["rejected"] + lengths["off_topic"], dtype=torch.float64)
    return {
        "accuracy": (margin > 0).double().mean().item(),  # held-out pairs ranked right
        "margin": margin.mean().item(),
        # probe: the rambling answer TO the question vs a concise answer to another question
        "off_topic_wins": (r["off_topic"] > r["rejected"]).double().mean().item(),
        # control, both concise: does it prefer the answer to the question asked?
        "on_topic_wins": (r["chosen"] > r["off_topic"]).double().mean().item(),
        "length_corr": torch.corrcoef(torch.stack([every, size]))[0, 1].item(),  # reward vs tokens
    }
# --8<-- [end:probe]


@torch.no_grad()
def last_token_features(model, texts, pad_id):
    """The body's hidden state where the score head reads it: the last token that is not pad."""
    batch = collate(texts, pad_id, model.device)
    hidden = model.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    positions = torch.arange(batch.input_ids.shape[1], device=model.device)
    last = (positions * (batch.input_ids != pad_id)).argmax(-1)  # as transformers does
    return hidden[torch.arange(len(texts)), last]


def linear_head(features_chosen, features_rejected, steps, seed):
    """A linear reward head on frozen features, fitted with the same loss (full batch, Adam)."""
    torch.manual_seed(seed)
    head = torch.nn.Linear(features_chosen.shape[1], 1, bias=False)
    optimizer = torch.optim.Adam(head.parameters(), lr=HEAD_LR)
    for _ in range(steps):
        loss = bradley_terry_loss(head(features_chosen).squeeze(-1), head(features_rejected).squeeze(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return head.requires_grad_(False), loss.item()


def train_with_trl(model, train, preset, seed, device, out):
    """The same LoRA run with trl's RewardTrainer: same token ids, LoRA, learning rate, batch, epochs."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import RewardConfig, RewardTrainer

    # Pre-tokenised pairs, so both runs see the same tokens; the usual input is conversational
    # {"prompt", "chosen", "rejected"} messages, which trl tokenises with the chat template.
    data = Dataset.from_list([{"chosen_ids": p["chosen"].ids, "rejected_ids": p["rejected"].ids} for p in train])
    config = RewardConfig(
        output_dir=str(out / "trl"), learning_rate=LR, num_train_epochs=preset["epochs"],
        per_device_train_batch_size=preset["batch_pairs"], lr_scheduler_type="constant", weight_decay=0.0,
        optim="adamw_torch", max_grad_norm=1e9, logging_steps=1, save_strategy="no", report_to=[], seed=seed,
        use_cpu=device.type == "cpu", disable_tqdm=True,
        bf16=False, activation_checkpointing=False,  # its defaults, set for large models on GPUs
    )
    trainer = RewardTrainer(model=model, args=config, train_dataset=data, peft_config=LORA)
    trainer.remove_callback(PrinterCallback)  # its per-step log lines would crowd the output
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    trainer.model.eval()
    return trainer.model, losses


def reward_sets(model, sets, pad_id):
    """The model's reward for every text of every held-out set, without gradients."""
    with torch.no_grad():
        return {name: rewards(model, texts, pad_id) for name, texts in sets.items()}


def chosen_shorter_share(tokenizer, rows):
    """The share of pairs whose chosen answer has fewer tokens than the rejected one."""
    all_pairs = [(len(tokenizer(r["chosen"]).input_ids), len(tokenizer(r["rejected"]).input_ids)) for r in rows]
    return sum(c < j for c, j in all_pairs) / len(all_pairs)


def random_heads(feats, *, n_heads, std, seed, device):
    """Held-out accuracy of many random score heads on the frozen features, and the share of them
    that rank at least 90 % of the pairs the same way."""
    generator = torch.Generator().manual_seed(seed)
    heads = torch.randn(n_heads, feats["chosen"].shape[1], generator=generator).to(device) * std
    random_acc = ((feats["chosen"] - feats["rejected"]) @ heads.T > 0).double().mean(0)
    decisive = ((random_acc >= 0.9) | (random_acc <= 0.1)).double().mean().item()
    return random_acc, decisive


def trl_from_fresh_model(args, device, train, *, preset, pad):
    """Load and seed a fresh model as ours was, then train it with trl: (model, losses, seconds)."""
    seed_everything(args.seed)
    fresh_model, _ = load_encoder(args.model, device, num_labels=1)
    fresh_model.config.pad_token_id = pad
    started = time.perf_counter()
    trl_model, trl_losses = train_with_trl(fresh_model, train, preset, args.seed, device, args.out)
    return trl_model, trl_losses, time.perf_counter() - started


def main(args):
    preset = PRESETS[args.scale]
    device = pick_device(args.device)
    rows = preference_pairs() if args.data is None else preference_triples(args.data, args.seed)  # yours: checked first
    writer = ResultsWriter(args.out, "llm_alignment/reward_model_length_bias", args)
    train_rows, heldout_rows, pool = split_rows(rows, preset["n_train"])

    seed_everything(args.seed)
    # num_labels=1: the language-model head is dropped and a fresh linear "score" head put on
    model, tokenizer = load_encoder(args.model, device, num_labels=1)
    pad = tokenizer.pad_token_id
    model.config.pad_token_id = pad  # the head reads the last token that is not pad

    train, sets = encode_pairs(tokenizer, train_rows, heldout_rows, pool)
    lengths = {name: [e.n_response for e in texts] for name, texts in sets.items()}

    # The data's length bias: how often is the chosen answer the shorter one?
    chosen_shorter = chosen_shorter_share(tokenizer, rows)

    # the length-only baseline: fewer response tokens, higher reward
    results = {"length only (shorter wins)": readout({n: [-x for x in v] for n, v in lengths.items()}, lengths)}

    # Before training: the score head is random. Read it (and many other random heads) on frozen features.
    started = time.perf_counter()
    model.eval()
    feats = {name: last_token_features(model, texts, pad) for name, texts in sets.items()}
    fresh = reward_sets(model, sets, pad)
    assert torch.allclose(feats["chosen"] @ model.score.weight[0], fresh["chosen"], atol=1e-3)  # same token, head
    fresh = readout(fresh, lengths)
    std = model.config.initializer_range  # how transformers initialises the head
    random_acc, decisive = random_heads(feats, n_heads=preset["random_heads"], std=std, seed=args.seed, device=device)
    results["untrained head (the one training starts from)"] = fresh

    # A linear head on the frozen body, fitted with the Bradley-Terry loss.
    train_c = last_token_features(model, [p["chosen"] for p in train], pad)
    train_r = last_token_features(model, [p["rejected"] for p in train], pad)
    head, head_loss = linear_head(train_c.cpu(), train_r.cpu(), preset["head_steps"], args.seed)
    results["linear head on the frozen body"] = readout(
        {name: head(f.cpu()).squeeze(-1) for name, f in feats.items()}, lengths)
    head_seconds = time.perf_counter() - started

    # LoRA + head, the loss written out.
    model = get_peft_model(model, LORA)
    trainable, total = parameter_counts(model)
    started = time.perf_counter()
    losses = train_reward_model(model, train, pad, preset, args.seed)
    ours_seconds = time.perf_counter() - started
    scored = reward_sets(model, sets, pad)
    results["LoRA + head, written out"] = readout(scored, lengths)

    # The same with trl's RewardTrainer, from a fresh model.
    trl_model, trl_losses, trl_seconds = trl_from_fresh_model(args, device, train, preset=preset, pad=pad)
    results["LoRA + head, trl RewardTrainer"] = readout(reward_sets(trl_model, sets, pad), lengths)

    summary(writer, results, rows=rows, n_train=len(train), n_heldout=len(heldout_rows), chosen_shorter=chosen_shorter,
            random_acc=random_acc, decisive=decisive, fresh=fresh, head_params=head.weight.numel(),
            head_loss=head_loss, head_seconds=head_seconds, losses=losses, trl_losses=trl_losses,
            ours_seconds=ours_seconds, trl_seconds=trl_seconds, trainable=trainable, total=total)
    plot(writer, scored, lengths)
    writer.save()


def split_rows(rows, n_train):
    """The first n_train training pairs, the held-out pairs, and the pairs the off-topic answers come from."""
    train_rows = [r for r in rows if r["split"] == "train"][:n_train]
    heldout_rows = [r for r in rows if r["split"] == "heldout"]
    pool = heldout_rows if len(heldout_rows) > 1 else rows  # a single held-out pair has no other to borrow from
    return train_rows, heldout_rows, pool


def encode_pairs(tokenizer, train_rows, heldout_rows, pool):
    """Training pairs; and the held-out chosen, rejected and off-topic answers (another prompt's
    chosen answer, under this prompt), each as encoded prompt + response."""
    def pair(r):
        return {"chosen": encode(tokenizer, r["prompt"], r["chosen"]),
                "rejected": encode(tokenizer, r["prompt"], r["rejected"])}

    sets = {"chosen": [], "rejected": [], "off_topic": []}
    for r in heldout_rows:
        other = pool[(pool.index(r) + 1) % len(pool)]
        p = pair(r)
        sets["chosen"].append(p["chosen"])
        sets["rejected"].append(p["rejected"])
        sets["off_topic"].append(encode(tokenizer, r["prompt"], other["chosen"]))
    return [pair(r) for r in train_rows], sets


def summary(writer, results, *, rows, n_train, n_heldout, chosen_shorter, random_acc, decisive, fresh, head_params,
            head_loss, head_seconds, losses, trl_losses, ours_seconds, trl_seconds, trainable, total):
    """Print the comparison and record the metrics and the table the page reads."""
    ours, trl_end, base = results["LoRA + head, written out"], results["LoRA + head, trl RewardTrainer"], \
        results["length only (shorter wins)"]
    print(f"Reward model on SmolLM2 ({n_train} training pairs, {n_heldout} held-out pairs); "
          f"the chosen answer is the shorter one in {chosen_shorter:.0%} of all {len(rows)} pairs")
    print(f"  random heads on the frozen body ({len(random_acc)}): held-out accuracy {random_acc.mean():.0%} on average, "
          f"{decisive:.0%} of them rank at least 90 % of the pairs the same way")
    for name, res in results.items():
        print(f"  {name:46s} held-out {res['accuracy']:4.0%} (margin {res['margin']:+7.2f}); "
              f"off-topic concise beats on-topic rambling {res['off_topic_wins']:4.0%}; "
              f"on-topic beats off-topic (both concise) {res['on_topic_wins']:4.0%}; "
              f"reward-length correlation {res['length_corr']:+.2f}")
    print(f"  ours: training loss {losses[0]:.3f} -> {losses[-1]:.3f} in {ours_seconds:.0f} s; "
          f"trl: {trl_losses[0]:.3f} -> {trl_losses[-1]:.3f} in {trl_seconds:.0f} s; "
          f"linear head: final loss {head_loss:.3f} ({head_seconds:.0f} s with the features)")

    writer.metric("n_pairs", len(rows))
    writer.metric("n_train", n_train)
    writer.metric("n_heldout", n_heldout)
    writer.metric("steps", len(losses))
    writer.metric("lora_trainable", trainable, "{:,}")
    writer.metric("total_params", total, "{:,}")
    writer.metric("head_params", head_params, "{:,}")
    writer.metric("chosen_shorter_share", chosen_shorter, "{:.0%}")
    writer.metric("length_accuracy", base["accuracy"], "{:.0%}")
    writer.metric("length_off_topic_wins", base["off_topic_wins"], "{:.0%}")
    writer.metric("length_on_topic_wins", base["on_topic_wins"], "{:.0%}")
    writer.metric("random_heads", len(random_acc))
    writer.metric("random_accuracy_mean", random_acc.mean().item(), "{:.0%}")
    writer.metric("random_decisive_share", decisive, "{:.0%}")
    writer.metric("fresh_accuracy", fresh["accuracy"], "{:.0%}")
    for key, res in (("head", results["linear head on the frozen body"]), ("ours", ours), ("trl", trl_end)):
        writer.metric(f"{key}_accuracy", res["accuracy"], "{:.0%}")
        writer.metric(f"{key}_margin", res["margin"], "{:.2f}")
        writer.metric(f"{key}_off_topic_wins", res["off_topic_wins"], "{:.0%}")
        writer.metric(f"{key}_on_topic_wins", res["on_topic_wins"], "{:.0%}")
        writer.metric(f"{key}_length_corr", res["length_corr"], "{:+.2f}")
    writer.metric("head_loss", head_loss, "{:.3f}")
    writer.metric("loss_first", losses[0], "{:.3f}")
    writer.metric("loss_last", losses[-1], "{:.3f}")
    writer.metric("trl_loss_first", trl_losses[0], "{:.3f}")
    writer.metric("trl_loss_last", trl_losses[-1], "{:.3f}")
    writer.metric("ours_seconds", ours_seconds, "{:.0f} s")
    writer.metric("trl_seconds", trl_seconds, "{:.0f} s")
    writer.table("compare", ["reward", "held-out pairs ranked right", "mean margin",
                             "off-topic concise beats on-topic rambling", "on-topic beats off-topic, both concise",
                             "correlation of reward with length"],
                 [[name, r["accuracy"], r["margin"], r["off_topic_wins"], r["on_topic_wins"], r["length_corr"]]
                  for name, r in results.items()],
                 caption=f"{n_heldout} held-out prompts. Margin: mean r(chosen) - r(rejected), in the "
                         "reward's own units (the length baseline's: tokens). Correlation over the held-out "
                         "chosen, rejected and off-topic answers together.",
                 formats=["{}", "{:.0%}", "{:+.2f}", "{:.0%}", "{:.0%}", "{:+.2f}"])


def plot(writer, scored, lengths):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, label, marker in (("chosen", "chosen (concise, on topic)", "o"),
                                ("rejected", "rejected (rambling, on topic)", "s"),
                                ("off_topic", "another question's concise answer", "^")):
        ax.scatter(lengths[name], scored[name].tolist(), marker=marker, label=label)
    ax.set(xlabel="response length (tokens)", ylabel="reward (LoRA, written out)",
           title="held-out answers: reward against length")
    ax.legend(fontsize=8)
    fig.tight_layout()
    writer.figure("reward_vs_length", fig, caption="The trained reward of every held-out answer against its "
                                                   "length in tokens.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="smollm2-135m-instruct", presets=PRESETS)
    add_data_flag(parser, "preferences", "the 40 shipped pairs (a quarter of yours, at most 10, is held out)")
    run_main(main, parser)
