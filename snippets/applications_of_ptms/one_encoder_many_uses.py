"""One pre-trained encoder, several applications, no training at all.

all-MiniLM-L6-v2 turns each customer message into a 384-number vector. With nothing but
those vectors and cosine similarity we run four different applications on the
customer-sentiment set and measure each against chance:

* semantic search: a query in plain words finds messages about it;
* routing by nearest neighbour: a test message gets the business domain (20 of them)
  of its most similar training message;
* sentiment by k nearest neighbours: the majority label among the 5 most similar
  training messages;
* sentiment by nearest centroid: the label whose mean training vector is most similar;
* clustering: k-means groups all messages; how pure are the groups by domain?

    python snippets/applications_of_ptms/one_encoder_many_uses.py --scale ci

Your own labelled texts: ``--data FILE`` (CSV, TSV or JSONL with ``text`` and ``label``). Your
file has no business domains, so routing and clustering group by your label; the search
queries are three of your test texts, searched among your training texts.
"""

import torch
import torch.nn.functional as F

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl
from fieldguide.user_data import add_data_flag, classification_splits

PRESETS = {
    "ci": {"batch_size": 64, "k_neighbours": 5, "kmeans_restarts": 5},
    "gpu": {"batch_size": 256, "k_neighbours": 5, "kmeans_restarts": 20},
}
QUERIES = [
    "I was charged twice and want my money back",
    "the app crashes every time I open it",
    "my flight was delayed and nobody told me",
]


# --8<-- [start:embed]
@torch.no_grad()
def embed(model, tokenizer, texts, batch_size, device):
    """Mean of the token vectors, L2-normalised: the sentence-embedding recipe of this model."""
    vectors = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                          truncation=True, max_length=128).to(device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        vectors.append(F.normalize(pooled, dim=-1).cpu())
    return torch.cat(vectors)
# --8<-- [end:embed]


def kmeans(x, k, restarts, seed):
    """Plain k-means (k-means++ start), best of a few restarts by within-cluster distance."""
    best, best_cost = None, float("inf")
    generator = torch.Generator().manual_seed(seed)
    for _ in range(restarts):
        centres = x[torch.randint(len(x), (1,), generator=generator)]
        while len(centres) < k:
            d = torch.cdist(x, centres).min(1).values ** 2
            centres = torch.cat([centres, x[torch.multinomial(d / d.sum(), 1, generator=generator)]])
        for _ in range(100):
            assign = torch.cdist(x, centres).argmin(1)
            members = F.one_hot(assign, k).to(x.dtype)  # n x k
            counts = members.sum(0).unsqueeze(1)
            new = torch.where(counts > 0, members.T @ x / counts.clamp(min=1), centres)
            if torch.allclose(new, centres):
                break
            centres = new
        cost = (torch.cdist(x, centres).min(1).values ** 2).sum().item()
        if cost < best_cost:
            best, best_cost = assign, cost
    return best


def purity_of(groups, data, domains):
    """Share of all messages that fall in their group's most common domain."""
    return sum(max(sum(1 for i in torch.nonzero(groups == c).flatten().tolist() if data[i]["domain"] == d)
                   for d in domains) for c in groups.unique().tolist()) / len(data)


def load_messages(data, seed):
    """Messages with text, label, domain and split: the shipped set, or your --data file (domain = label)."""
    if data is None:
        return read_jsonl("customer_sentiment.jsonl")
    splits, labels = classification_splits(data, seed)  # checked in full before any model loads
    return [{"text": text, "label": labels[y], "domain": labels[y], "split": name}
            for name, split in splits.items() for text, y in zip(split.texts, split.labels)]


def main(args):
    settings = PRESETS[args.scale]
    seed_everything(args.seed)
    device = pick_device(args.device)
    data = load_messages(args.data, args.seed)
    group = "domain" if args.data is None else "label"  # what routing and clustering must recover
    model, tokenizer = load_encoder(args.model, device=device)
    model.eval()
    train_at = [i for i, r in enumerate(data) if r["split"] == "train"]
    test_at = [i for i, r in enumerate(data) if r["split"] == "test"]
    train, test = [data[i] for i in train_at], [data[i] for i in test_at]
    vectors = embed(model, tokenizer, [r["text"] for r in data], settings["batch_size"], device)
    train_v = vectors[train_at]
    test_v = vectors[test_at]
    results = ResultsWriter(args.out, "applications_of_ptms/one_encoder_many_uses", args)

    # 1. Semantic search: rank every message by cosine similarity to the query.
    #    (--data: three of your test texts are the queries, searched among your training texts.)
    if args.data is None:
        queries, pool = QUERIES, list(range(len(data)))
    else:
        queries, pool = [r["text"] for r in test[:3]], train_at
    query_v = embed(model, tokenizer, queries, settings["batch_size"], device)
    found = [(vectors[pool] @ q).topk(min(3, len(pool))) for q in query_v]  # the top 3 for each query

    # --8<-- [start:idea]
    similarity = test_v @ train_v.T  # test x train cosine similarities

    # 2. Routing: the domain of the single most similar training message.
    nearest = similarity.argmax(1)
    routing = sum(train[j]["domain"] == r["domain"] for j, r in zip(nearest.tolist(), test)) / len(test)

    # 3. Sentiment: majority vote of the k most similar training messages.
    labels = sorted({r["label"] for r in data})
    train_y = torch.tensor([labels.index(r["label"]) for r in train])
    test_y = torch.tensor([labels.index(r["label"]) for r in test])
    neighbours = similarity.topk(min(settings["k_neighbours"], len(train)), dim=1).indices
    votes = F.one_hot(train_y[neighbours], len(labels)).sum(1)
    sentiment = (votes.argmax(1) == test_y).float().mean().item()

    # 4. Sentiment again: the label whose centroid (mean training vector) is most similar.
    centroids = F.normalize(torch.stack([train_v[train_y == c].mean(0) for c in range(len(labels))]), dim=-1)
    centroid_sentiment = ((test_v @ centroids.T).argmax(1) == test_y).float().mean().item()
    # --8<-- [end:idea]

    # 5. Clustering: k-means with one cluster per domain; purity = share in the cluster's top domain.
    domains = sorted({r["domain"] for r in data})
    assign = kmeans(vectors, len(domains), settings["kmeans_restarts"], args.seed)
    purity = purity_of(assign, data, domains)
    # Chance for purity is not 1/20: a random grouping with the same cluster sizes, averaged.
    shuffles = torch.Generator().manual_seed(args.seed)
    random_purity = sum(purity_of(assign[torch.randperm(len(assign), generator=shuffles)], data, domains)
                        for _ in range(20)) / 20

    summary(results, data, queries=queries, pool=pool, found=found, group=group,
            task="sentiment" if args.data is None else "label", labels=labels, domains=domains,
            k_neighbours=min(settings["k_neighbours"], len(train)), n_train=len(train), n_test=len(test),
            routing=routing, sentiment=sentiment, centroid_sentiment=centroid_sentiment, purity=purity,
            random_purity=random_purity)
    results.save()


def summary(results, data, *, queries, pool, found, group, task, labels, domains, k_neighbours, n_train, n_test,
            routing, sentiment, centroid_sentiment, purity, random_purity):
    """Print the search hits and the scores; record the tables and metrics the page reads."""
    search_rows = []
    for query, top in zip(queries, found):
        print(f"search: {query!r}")
        for score, i in zip(top.values.tolist(), [pool[j] for j in top.indices.tolist()]):
            print(f"   {score:.2f}  [{data[i]['domain']}] {data[i]['text']}")
            search_rows.append([query, f"{score:.2f}", data[i]["domain"], data[i]["text"]])
    results.table("search", ["query", "cosine", group, "message found"], search_rows,
                  caption=f"Top 3 of {len(pool)} messages for each query, ranked by cosine similarity.")

    rows = [
        ["semantic search", "rank messages by cosine to a query", "see the table above", "-"],
        [f"routing to 1 of {len(domains)} {group}s", f"{group} of the nearest training message", f"{routing:.1%}",
         f"{1 / len(domains):.1%}"],
        [f"{task}, {len(labels)} classes", f"vote of the {k_neighbours} nearest training messages",
         f"{sentiment:.1%}", f"{1 / len(labels):.1%}"],
        [f"{task}, {len(labels)} classes",
         "the label of the nearest centroid (mean training vector)", f"{centroid_sentiment:.1%}",
         f"{1 / len(labels):.1%}"],
        [f"clustering into {len(domains)} groups", f"k-means; purity by {group}", f"{purity:.1%}",
         f"{random_purity:.1%} (random groups, same sizes)"],
    ]
    print()
    for row in rows[1:]:
        print(f"{row[0]:28s} {row[2]:>6s}   (chance {row[3]})")
    results.table("uses", ["application", "how, with the same frozen vectors", "measured on held-out messages", "chance"],
                  rows, caption=f"One frozen encoder, {n_train} training and {n_test} test messages, no gradient step.")
    results.metric("routing_accuracy", routing, "{:.1%}")
    results.metric("knn_sentiment_accuracy", sentiment, "{:.1%}")
    results.metric("centroid_sentiment_accuracy", centroid_sentiment, "{:.1%}")
    results.metric("centroid_minus_knn_points", 100 * (centroid_sentiment - sentiment), "{:.1f}")
    results.metric("chance", 1 / len(labels), "{:.1%}")
    results.metric("cluster_purity", purity, "{:.1%}")
    results.metric("random_grouping_purity", random_purity, "{:.1%}")
    results.metric("n_domains", len(domains))


if __name__ == "__main__":
    parser = snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS)
    add_data_flag(parser, "classification", "the customer-message set (your file has no business domains: "
                  "routing and clustering group by your label, and three of your test texts are the search "
                  "queries, searched among your training texts)")
    run_main(main, parser)
