"""Prompting SmolLM2 with k examples against a frozen MiniLM + linear head: accuracy, cost per query,
break-even volume. The claims and their bands live in ``fieldguide.claims_real_models``."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims
from fieldguide.classification import sentiment_splits

NAME = "efficiency_of_prompting/prompt_vs_trained_head"


def test_prompt_vs_trained_head():
    run = run_snippet(NAME)
    m = run.metric
    print(f"measured: head {m('head_accuracy'):.1%} ({m('train_labels')} labels, trained in "
          f"{m('head_train_seconds'):.2f} s, {m('head_ms_per_query'):.1f} ms/query); prompt calibrated "
          f"zero-shot {m('zero_shot_accuracy'):.1%}, k={m('k_max')} {m('k_max_accuracy'):.1%} "
          f"({m('k_max_accuracy_min'):.1%}-{m('k_max_accuracy_max'):.1%}), {m('zero_shot_ms_per_query'):.1f}-"
          f"{m('k_max_ms_per_query'):.1f} ms/query ({m('k_max_ms_per_query_uncached'):.0f} uncached); "
          f"break-even {m('break_even_queries'):.0f} queries; run {run.seconds:.0f} s")
    assert_claims(run)
    # The test subset is label-balanced and its size comes from the run; the head trains on every label.
    splits = sentiment_splits()
    assert m("train_labels") == len(splits["train"]) and m("test_split_messages") == len(splits["test"])
    assert 0 < m("test_messages") <= len(splits["test"]) and m("test_messages") % 3 == 0
    accuracy = {r["in-context examples k"]: r for r in run.table("accuracy")}
    assert list(accuracy) == [0, 1, 2, 4, 8]
    assert all(r["draws"] >= 2 for k, r in accuracy.items() if k)  # several draws of examples: the spread
    draws = run.table("draws")
    assert len(draws) == 1 + sum(r["draws"] for k, r in accuracy.items() if k)
    # Each draw is another set of examples: the prompts differ in length within one k.
    for k in (1, 2, 4, 8):
        assert len({r["prefix tokens"] for r in draws if r["k"] == k}) > 1
    # Costs: one row per prompt and one for the head; the break-even column follows from the others.
    costs = {r["arm"]: r for r in run.table("costs")}
    head = costs.pop("frozen MiniLM + linear head")
    for r in costs.values():
        expected = head["one-time seconds"] / ((r["ms per query"] - head["ms per query"]) / 1000)
        assert abs(r["break-even queries"] - expected) <= 1e-6 * expected
    # Prompt tokens grow with k; the tokens computed per query with the prefix cached do not.
    tokens = [r["tokens per query (whole prompt)"] for r in costs.values()]
    assert tokens == sorted(tokens) and len({r["tokens computed per query (prefix cached)"] for r in costs.values()}) == 1
    assert (run.out / "accuracy_and_cost.svg").is_file()
