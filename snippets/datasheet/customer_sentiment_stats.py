"""Balance of the customer-message sentiment set: class x split counts, hard cases, domains, lengths.

Reads src/fieldguide/data/customer_sentiment.jsonl (no model) and prints the tables the
data sheet shows.

    python snippets/datasheet/customer_sentiment_stats.py
"""

from collections import Counter
from statistics import mean, median

from fieldguide import ResultsWriter, run_main, snippet_parser
from fieldguide.classification import DATA_FILE, LABELS
from fieldguide.datasets import read_jsonl

PRESETS = {"ci": {"rows": "all 960"}, "gpu": {"rows": "all 960"}}  # no model: the same run
SPLITS = ("train", "validation", "test")


def main(args):
    rows = read_jsonl(DATA_FILE)
    writer = ResultsWriter(args.out, "datasheet/customer_sentiment_stats", args)
    count = Counter((r["split"], r["label"]) for r in rows)
    hard = Counter((r["split"], r["label"]) for r in rows if r["hard"])
    words = {s: [len(r["text"].split()) for r in rows if r["split"] == s] for s in SPLITS}
    domains = {s: len({r["domain"] for r in rows if r["split"] == s}) for s in SPLITS}
    table = []
    for s in SPLITS:
        n = sum(count[s, label] for label in LABELS)
        table.append([s, *[count[s, label] for label in LABELS], n,
                      sum(hard[s, label] for label in LABELS) / n, domains[s],
                      mean(words[s]), median(words[s]), max(words[s])])
    n_all = len(rows)
    all_words = [w for s in SPLITS for w in words[s]]
    table.append(["all", *[sum(count[s, label] for s in SPLITS) for label in LABELS], n_all,
                  sum(r["hard"] for r in rows) / n_all, len({r["domain"] for r in rows}),
                  mean(all_words), median(all_words), max(all_words)])
    columns = ["split", *LABELS, "total", "hard share", "domains", "mean words", "median words", "max words"]
    writer.table("balance", columns, table,
                 formats=["{}", "{}", "{}", "{}", "{}", "{:.0%}", "{}", "{:.1f}", "{:g}", "{}"],
                 caption="Messages per split and label, share of hard cases, number of domains, length in words.")
    per_domain = Counter(r["domain"] for r in rows)
    writer.table("domains", ["domain", "messages", "hard share"],
                 [[d, c, sum(r["hard"] for r in rows if r["domain"] == d) / c] for d, c in sorted(per_domain.items())],
                 formats=["`{}`", "{}", "{:.0%}"], caption="Messages per domain (all splits).")
    writer.metric("n_messages", n_all)
    writer.metric("n_domains", len(per_domain))
    writer.metric("hard_share", sum(r["hard"] for r in rows) / n_all, "{:.0%}")
    print(" | ".join(columns))
    for line in writer.data["tables"]["balance"]["text"]:
        print(" | ".join(line))
    writer.save()


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], presets=PRESETS)
    run_main(main, parser)
