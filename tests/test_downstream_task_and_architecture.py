"""downstream-task-and-architecture: the task decides the head; the body is shared."""

from fieldguide.execute import run_snippet


def test_every_head_sits_on_the_same_pretrained_body():
    run = run_snippet("downstream_task_and_architecture/heads_on_one_body")
    heads = {row["task"]: row for row in run.table("heads")}
    print({task: (row["output for 2 messages"], row["new parameters"]) for task, row in heads.items()})
    assert run.metric("all_same_body") is True
    assert run.metric("body_params") > 22_000_000
    # New parameters are exactly the head: hidden size 384 times the outputs, plus biases.
    assert run.metric("classifier_new_params") == 384 * 3 + 3
    assert run.metric("token_tagger_new_params") == 384 * 5 + 5
    assert run.metric("qa_new_params") == 384 * 2 + 2
    assert heads["sentence embedding (search, clustering)"]["new parameters"] == 0
    assert run.metric("max_new_share") < 0.0001
    # Output shapes follow the task: per text vs per token.
    assert heads["sentence classification (sentiment)"]["output for 2 messages"] == "logits [2, 3]"
    assert heads["token classification (tag spans)"]["output for 2 messages"].startswith("logits [2, ")


def test_an_untrained_head_knows_nothing_about_the_task():
    run = run_snippet("downstream_task_and_architecture/heads_on_one_body")
    accuracy = run.metric("untrained_head_accuracy")
    print(f"untrained head accuracy {accuracy:.1%} (chance 33.3%)")
    assert 0.20 <= accuracy <= 0.45  # chance, give or take the noise of 240 examples
