"""applications-of-ptms: one frozen encoder serves search, routing, classification, clustering."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_one_frozen_encoder_beats_chance_on_every_use():
    run = run_snippet("applications_of_ptms/one_encoder_many_uses")
    routing, sentiment = run.metric("routing_accuracy"), run.metric("knn_sentiment_accuracy")
    purity, chance_domain = run.metric("cluster_purity"), 1 / run.metric("n_domains")
    print(f"routing {routing:.1%} (chance {chance_domain:.1%}), k-NN sentiment {sentiment:.1%} "
          f"(chance 33.3%), cluster purity {purity:.1%}")
    # The page says: with no training at all, every use is far above chance.
    assert_claims(run)
    # Semantic search: the crash query finds app/game crash reports among its top 3.
    found = [row for row in run.table("search") if row["query"].startswith("the app crashes")]
    assert sum("crash" in row["message found"].lower() for row in found) >= 2, found
