"""One pre-trained encoder, several applications, no training at all.

all-MiniLM-L6-v2 turns each customer message into a 384-number vector. With nothing but
those vectors and cosine similarity we run three different applications on the
customer-sentiment set and measure each against chance:

* semantic search: a query in plain words finds messages about it;
* routing by nearest neighbour: a test message gets the business domain (20 of them)
  of its most similar training message;
* sentiment by k nearest neighbours: the majority label among the 5 most similar
  training messages;
* clustering: k-means groups all messages; how pure are the groups by domain?

    python snippets/applications_of_ptms/one_encoder_many_uses.py --scale ci
"""

import torch
import torch.nn.functional as F

from fieldguide import ResultsWriter, load_encoder, pick_device, run_main, seed_everything, snippet_parser
from fieldguide.datasets import read_jsonl

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


def main(args):
    settings = PRESETS[args.scale]
    seed_everything(args.seed)
    device = pick_device(args.device)
    model, tokenizer = load_encoder(args.model, device=device)
    model.eval()
    data = read_jsonl("customer_sentiment.jsonl")
    train = [r for r in data if r["split"] == "train"]
    test = [r for r in data if r["split"] == "test"]
    vectors = embed(model, tokenizer, [r["text"] for r in data], settings["batch_size"], device)
    index = {r["id"]: i for i, r in enumerate(data)}
    train_v = vectors[[index[r["id"]] for r in train]]
    test_v = vectors[[index[r["id"]] for r in test]]
    results = ResultsWriter(args.out, "applications_of_ptms/one_encoder_many_uses", args)

    # 1. Semantic search: rank every message by cosine similarity to the query.
    query_v = embed(model, tokenizer, QUERIES, settings["batch_size"], device)
    search_rows = []
    for query, q in zip(QUERIES, query_v):
        top = (vectors @ q).topk(3)
        print(f"search: {query!r}")
        for score, i in zip(top.values.tolist(), top.indices.tolist()):
            print(f"   {score:.2f}  [{data[i]['domain']}] {data[i]['text']}")
            search_rows.append([query, f"{score:.2f}", data[i]["domain"], data[i]["text"]])
    results.table("search", ["query", "cosine", "domain", "message found"], search_rows,
                  caption="Top 3 of 960 messages for each query, ranked by cosine similarity.")

    # --8<-- [start:idea]
    similarity = test_v @ train_v.T  # test x train cosine similarities

    # 2. Routing: the domain of the single most similar training message.
    nearest = similarity.argmax(1)
    routing = sum(train[j]["domain"] == r["domain"] for j, r in zip(nearest.tolist(), test)) / len(test)

    # 3. Sentiment: majority vote of the k most similar training messages.
    labels = sorted({r["label"] for r in data})
    train_y = torch.tensor([labels.index(r["label"]) for r in train])
    test_y = torch.tensor([labels.index(r["label"]) for r in test])
    neighbours = similarity.topk(settings["k_neighbours"], dim=1).indices
    votes = F.one_hot(train_y[neighbours], len(labels)).sum(1)
    sentiment = (votes.argmax(1) == test_y).float().mean().item()
    # --8<-- [end:idea]

    # 4. Clustering: k-means with one cluster per domain; purity = share in the cluster's top domain.
    domains = sorted({r["domain"] for r in data})
    assign = kmeans(vectors, len(domains), settings["kmeans_restarts"], args.seed)
    def purity_of(groups):
        return sum(max(sum(1 for i in torch.nonzero(groups == c).flatten().tolist() if data[i]["domain"] == d)
                       for d in domains) for c in groups.unique().tolist()) / len(data)

    purity = purity_of(assign)
    # Chance for purity is not 1/20: a random grouping with the same cluster sizes, averaged.
    shuffles = torch.Generator().manual_seed(args.seed)
    random_purity = sum(purity_of(assign[torch.randperm(len(assign), generator=shuffles)])
                        for _ in range(20)) / 20

    rows = [
        ["semantic search", "rank messages by cosine to a query", "see the table above", "-"],
        ["routing to 1 of 20 domains", "domain of the nearest training message", f"{routing:.1%}", f"{1 / len(domains):.1%}"],
        ["sentiment, 3 classes", f"vote of the {settings['k_neighbours']} nearest training messages", f"{sentiment:.1%}", f"{1 / len(labels):.1%}"],
        ["clustering into 20 groups", "k-means; purity by domain", f"{purity:.1%}", f"{random_purity:.1%} (random groups, same sizes)"],
    ]
    print()
    for row in rows[1:]:
        print(f"{row[0]:28s} {row[2]:>6s}   (chance {row[3]})")
    results.table("uses", ["application", "how, with the same frozen vectors", "measured on held-out messages", "chance"],
                  rows, caption=f"One frozen encoder, {len(train)} training and {len(test)} test messages, no gradient step.")
    results.metric("routing_accuracy", routing, "{:.1%}")
    results.metric("knn_sentiment_accuracy", sentiment, "{:.1%}")
    results.metric("cluster_purity", purity, "{:.1%}")
    results.metric("random_grouping_purity", random_purity, "{:.1%}")
    results.metric("n_domains", len(domains))
    results.save()


if __name__ == "__main__":
    run_main(main, snippet_parser(__doc__.splitlines()[0], default_model="minilm-l6", presets=PRESETS))
