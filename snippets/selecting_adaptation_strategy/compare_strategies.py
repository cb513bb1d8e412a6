"""Which adaptation strategy for < 500 labelled customer messages and little compute? Every approach, one table.

Reads the run of each approach's snippet on its own page, all on the same splits of the
customer-message set, and puts their measurements side by side:
test accuracy and macro-F1 with all 480 training labels (prompting uses 0 or 6),
trainable parameters, training wall time, peak memory, inference time per 100
messages, and the label-efficiency curve (8, 32, 128, 480 labels, several seeds), with the
zero-shot levels (no labels) of the frozen encoder and of prompting.

    python snippets/selecting_adaptation_strategy/compare_strategies.py --scale ci
    python snippets/selecting_adaptation_strategy/compare_strategies.py --sources runs

Without ``--sources`` it runs the five approach snippets (from the snippets folder beside
this one) into ``<out>/sources/``; with it, it reads their ``--out`` folders from
``DIR/<page>/<name>/``. The site's build passes its cached runs this way.
"""

from pathlib import Path

from fieldguide import FieldGuideError, ResultsWriter, run_main, snippet_parser
from fieldguide.classification import ROW_COLUMNS, ROW_FORMATS
from fieldguide.sources import source_runs

PRESETS = {  # each approach's own PRESETS say what the scale means for it
    "ci": {"approaches": "as each snippet's ci preset (2 CPU cores)"},
    "gpu": {"approaches": "as each snippet's gpu preset (one GPU)"},
}
# --8<-- [start:idea]
SOURCES = [  # the snippet of each approach, on its own page
    "freezing_encoder_parameters/frozen_encoder_linear_head",
    "discarding_pretraining_head/new_head_full_fine_tuning",
    "fine_tuning_sequence_encoding_models/lora_encoder",
    "transfer_knowledge_to_downstream_tasks/random_init_control",
    "prompting_language_models/smollm2_zero_few_shot",
]
PROMPTING = SOURCES[-1]
SAME_RUN = {  # two more pages report the full fine-tuning run itself (same recipe, seed, 480 labels)
    "fine_tuning_pretrained_models_downstream/gentle_vs_harsh": "gentle_accuracy",  # its gentle run
    "necessity_of_fine_tuning/frozen_vs_finetuned": "finetuned_accuracy",  # its fine-tuned arm
}
# --8<-- [end:idea]
ENCODERS = {  # approach, as its snippet names it -> (short key, name in the plot, colour)
    "frozen encoder + linear head (mean-pooled)": ("frozen", "frozen + linear head", "#1565c0"),
    "frozen encoder + head started from label sentences": ("named", "frozen + head from label sentences",
                                                           "#00838f"),
    "full fine-tuning (new head)": ("full", "full fine-tuning", "#2e7d32"),
    "LoRA r=8 (new head)": ("lora", "LoRA", "#ef6c00"),
    "random-init control (same training)": ("control", "random-init control", "#757575"),
    "TF-IDF + logistic regression (no pre-training)": ("bow", "TF-IDF + logistic regression", "#8d6e63"),
}
NOT_PRETRAINED = ("control", "bow")


def curve_points(run, approach=None):
    """{n_labels: {seed: accuracy}} from one snippet's curve table (one approach of it, if given).
    Seed s draws the same labels in every snippet, so arms compare on the seeds they share."""
    points = {}
    for r in run.table("curve"):
        if approach is None or r["approach"] == approach:
            points.setdefault(r["training labels"], {})[r["seed"]] = r["test accuracy"]
    return points


def main(args):
    runs = source_runs(SOURCES + list(SAME_RUN), args, __file__)
    writer = ResultsWriter(args.out, "selecting_adaptation_strategy/compare_strategies", args)

    rows = [row for name in SOURCES for row in runs[name].results["tables"]["rows"]["rows"]]
    writer.table("strategies", ROW_COLUMNS, rows, formats=ROW_FORMATS,
                 caption="All measured in this build on the same 240 test messages. Training labels: "
                         "how many labelled messages the approach used. Times and memory come from "
                         "the machine that built the page (peak memory above the Python/torch runtime).")
    print("\n".join(" | ".join(fmt.format(c) for fmt, c in zip(ROW_FORMATS, r)) for r in rows))

    # --8<-- [start:gap]
    # The claims the page argues from: each encoder approach's curve, pre-trained against the control.
    curves = {key: curve_points(runs[name], approach) for name in SOURCES[:-1]
              for approach, (key, _, _) in ENCODERS.items() if curve_points(runs[name], approach)}
    if set(curves) != {key for key, _, _ in ENCODERS.values()}:
        raise FieldGuideError(f"the approach snippets' curves name {sorted(curves)}; ENCODERS expects "
                              f"{sorted(key for key, _, _ in ENCODERS.values())}")
    counts = sorted(curves["control"])
    # Paired: at each label count every arm is averaged over the same seeds (label draws), those all share.
    shared = {n: sorted(set.intersection(*(set(curves[k][n]) for k in curves))) for n in counts}
    mean = lambda key, n: sum(curves[key][n][s] for s in shared[n]) / len(shared[n])  # noqa: E731
    pretrained = [key for key in curves if key not in NOT_PRETRAINED]
    best_pretrained = {n: max(mean(k, n) for k in pretrained) for n in counts}
    gaps = {n: best_pretrained[n] - mean("control", n) for n in counts}
    # --8<-- [end:gap]
    summary(writer, runs, rows, curves=curves, counts=counts, shared=shared, mean=mean, pretrained=pretrained,
            best_pretrained=best_pretrained, gaps=gaps)
    plot(writer, curves, counts, runs[PROMPTING])
    writer.save()


def summary(writer, runs, rows, *, curves, counts, shared, mean, pretrained, best_pretrained, gaps):
    """Record the metrics the pages read, from the approaches' runs and the paired curves; print the headline."""
    best = max(rows, key=lambda r: r[2])  # every row used at most 480 labels
    frozen, full, lora, control = (runs[s] for s in SOURCES[:4])
    prompting = runs[PROMPTING]
    writer.metric("best_approach", best[0])
    writer.metric("best_accuracy", best[2], "{:.1%}")
    writer.metric("best_macro_f1", best[3], "{:.3f}")
    writer.metric("frozen_accuracy", frozen.metric("accuracy"), "{:.1%}")
    writer.metric("full_accuracy", full.metric("accuracy"), "{:.1%}")
    writer.metric("lora_accuracy", lora.metric("accuracy"), "{:.1%}")
    writer.metric("control_accuracy", control.metric("accuracy"), "{:.1%}")
    writer.metric("named_accuracy", frozen.metric("named_accuracy"), "{:.1%}")
    writer.metric("named_zero_shot_accuracy", frozen.metric("zero_shot_accuracy"), "{:.1%}")
    for key in ("zero_shot_accuracy", "few_shot_accuracy", "zero_shot_calibrated_accuracy",
                "few_shot_calibrated_accuracy"):
        writer.metric(key, prompting.metric(key), "{:.1%}")
    writer.metric("prompting_infer_per_100", prompting.metric("few_shot_infer_per_100"), "{:.1f} s")
    writer.metric("encoder_infer_per_100", full.metric("infer_per_100"), "{:.2f} s")
    writer.metric("encoder_accuracy_min", min(frozen.metric("accuracy"), frozen.metric("named_accuracy"),
                                              full.metric("accuracy"), lora.metric("accuracy")), "{:.1%}")
    writer.metric("full_peak_mb", full.metric("peak_mb"), "{:.0f} MB")
    writer.metric("lora_peak_mb", lora.metric("peak_mb"), "{:.0f} MB")
    writer.metric("full_train_seconds", full.metric("train_seconds"), "{:.0f} s")
    writer.metric("encoder_train_seconds_max", max(r.metric("train_seconds") for r in (frozen, full, lora)), "{:.0f} s")
    writer.metric("encoder_infer_per_100_max", max(r.metric("infer_per_100") for r in (frozen, full, lora)), "{:.2f} s")
    writer.metric("frozen_vs_full_points", 100 * (full.metric("accuracy") - frozen.metric("accuracy")), "{:.1f}")
    writer.metric("frozen_param_share", frozen.metric("trainable") / full.metric("trainable"), "{:.3%}")
    writer.metric("lora_param_share", lora.metric("trainable") / full.metric("trainable"), "{:.2%}")
    writer.metric("pretraining_gap_min_points", 100 * min(gaps.values()), "{:.0f}")
    writer.metric("pretraining_gap_min_at", min(gaps, key=gaps.get))
    for n in counts:
        writer.metric(f"shared_seeds_at_{n}", len(shared[n]), "{}")
        for key in curves:
            writer.metric(f"{key}_at_{n}", mean(key, n), "{:.1%}")
            # paired differences from full fine-tuning, seed by seed: their range is the noise to read a gap against
            differences = [curves[key][n][s] - curves["full"][n][s] for s in shared[n]]
            writer.metric(f"{key}_minus_full_min_at_{n}", min(differences), "{:+.1%}")
            writer.metric(f"{key}_minus_full_max_at_{n}", max(differences), "{:+.1%}")
        writer.metric(f"best_at_{n}", max(pretrained, key=lambda k: mean(k, n)))
        writer.metric(f"gap_at_{n}", 100 * gaps[n], "{:.0f}")
        random_start = max(mean(k, n) for k in pretrained if k != "named")  # without label sentences
        writer.metric(f"gap_without_label_sentences_at_{n}", 100 * (random_start - mean("control", n)), "{:.0f}")
    # Like for like: the same training with and without pre-trained weights; and the best pre-trained
    # arm against the stronger of the two learners without pre-training.
    like_for_like = {n: 100 * (mean("full", n) - mean("control", n)) for n in counts}
    over_baseline = {n: 100 * (best_pretrained[n] - max(mean(k, n) for k in NOT_PRETRAINED)) for n in counts}
    for n in counts:
        writer.metric(f"full_minus_control_at_{n}", like_for_like[n], "{:.1f}")
        writer.metric(f"gap_over_best_baseline_at_{n}", over_baseline[n], "{:.1f}")
    writer.metric("full_minus_control_min_points", min(like_for_like.values()), "{:.1f}")
    writer.metric("gap_over_best_baseline_min_points", min(over_baseline.values()), "{:.1f}")
    # One recipe, one number: the pages that report full fine-tuning with all labels report one run.
    reported = [full.metric("accuracy")] + [runs[name].metric(key) for name, key in SAME_RUN.items()]
    writer.metric("full_reported_spread", max(reported) - min(reported), "{:.2g}")
    for n in counts:  # the spread over the shared seeds of each curve point, to read a gap against
        for key, points in curves.items():
            values = [points[n][s] for s in shared[n]]
            writer.metric(f"{key}_spread_at_{n}", max(values) - min(values), "{:.1%}")
    writer.metric("seconds_all_sources", sum(runs[name].seconds for name in SOURCES), "{:.0f} s")
    print(f"best with all {counts[-1]} labels: {best[0]} ({best[2]:.1%}); pre-trained beats the control "
          f"by at least {100 * min(gaps.values()):.0f} points at every label count")


def plot(writer, curves, counts, prompting):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    for key, label, colour in ENCODERS.values():
        points = {n: list(by_seed.values()) for n, by_seed in curves[key].items()}
        xs = [n for n in counts if n in points]
        means = [sum(points[n]) / len(points[n]) for n in xs]
        ax.fill_between(xs, [min(points[n]) for n in xs], [max(points[n]) for n in xs], color=colour, alpha=0.15)
        for n in xs:
            ax.scatter([n] * len(points[n]), points[n], color=colour, s=8, alpha=0.6)
        ax.plot(xs, means, marker="o", color=colour, label=label, ls="--" if key in NOT_PRETRAINED else "-")
        if 0 in points:  # no labels: a level to compare against
            ax.axhline(sum(points[0]) / len(points[0]), color=colour, ls=":", lw=1.3,
                       label=f"{label}, no labels (zero-shot)")
    approaches = dict.fromkeys(r["approach"] for r in prompting.table("curve"))
    for approach, style in zip(approaches, [":", "-.", "D", "s"]):
        points = {n: list(by_seed.values()) for n, by_seed in curve_points(prompting, approach).items()}
        short = approach.replace(" (SmolLM2-135M)", "").replace(" prompting", "")
        for n, values in points.items():
            if n == 0:  # zero-shot: no labels, a level to compare against
                ax.axhline(sum(values) / len(values), color="#8e24aa", ls=style, lw=1.3, label=f"SmolLM2 {short}")
            else:
                ax.scatter([n], [sum(values) / len(values)], marker=style, color="#8e24aa", zorder=3,
                           label=f"SmolLM2 {short}")
    ax.axhline(1 / 3, color="black", lw=0.8, alpha=0.4)
    ax.text(counts[0], 1 / 3 + 0.01, "chance (3 balanced classes)", fontsize=8, alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(n) for n in counts])
    ax.set_xlabel("training labels (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.2, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    writer.figure("label_efficiency", fig, caption="Test accuracy against the number of training labels: "
                  "line = mean over seeds, band = min to max, dots = single runs (at ci scale the "
                  "encoders run one seed with all 480 labels; below that, two for full fine-tuning, "
                  "LoRA, the control and TF-IDF, five for the frozen heads). Horizontal lines: no training labels "
                  "(dotted: zero-shot; dash-dot: zero-shot with calibration); points at 6 labels: "
                  "few-shot prompting.")


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], presets=PRESETS)
    parser.add_argument("--sources", type=Path, default=None,
                        help="folder holding each approach snippet's --out folder as <page>/<name>/ "
                             "(default: run them into <out>/sources/)")
    run_main(main, parser)
