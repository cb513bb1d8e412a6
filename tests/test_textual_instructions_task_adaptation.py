"""Textual instructions for task adaptation: tuning on four tasks, tested on four unseen ones."""

from fieldguide.execute import run_snippet


def test_instruction_generalisation():
    run = run_snippet("textual_instructions_task_adaptation/instruction_generalisation")
    m = run.metric
    print(run.stdout)
    figures = {k: m(k) for k in ("seen_exact_before", "seen_exact_after", "unseen_exact_before",
                                 "unseen_exact_after", "unseen_lenient_before", "unseen_lenient_after")}
    print(figures)
    # the seen tasks are learned
    assert m("seen_exact_after") > m("seen_exact_before") + 0.3
    # and exact-format answers rise on tasks never trained on
    assert m("unseen_exact_after") > m("unseen_exact_before") + 0.15
