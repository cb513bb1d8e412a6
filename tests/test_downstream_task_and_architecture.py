"""downstream-task-and-architecture: the task decides the head; the body is shared."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_every_head_sits_on_the_same_pretrained_body():
    run = run_snippet("downstream_task_and_architecture/heads_on_one_body")
    heads = {row["task"]: row for row in run.table("heads")}
    print({task: (row["output for 2 messages"], row["new parameters"]) for task, row in heads.items()})
    # One body under every head; new parameters are exactly the head: hidden size 384 times the
    # outputs, plus biases.
    assert_claims(run)
    assert heads["sentence embedding (search, clustering)"]["new parameters"] == 0
    # Output shapes follow the task: per text vs per token.
    assert heads["sentence classification (sentiment)"]["output for 2 messages"] == "logits [2, 3]"
    assert heads["token classification (tag spans)"]["output for 2 messages"].startswith("logits [2, ")


def test_an_untrained_head_knows_nothing_about_the_task():
    run = run_snippet("downstream_task_and_architecture/heads_on_one_body")
    accuracy = run.metric("untrained_head_accuracy")
    print(f"untrained head accuracy {accuracy:.1%} (chance 33.3%)")
    assert_claims(run)  # untrained_at_chance: chance, give or take the noise of 240 examples
