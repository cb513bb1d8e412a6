"""Textual instructions for task adaptation: tuning on four tasks, tested on four unseen ones."""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims


def test_instruction_generalisation():
    run = run_snippet("textual_instructions_task_adaptation/instruction_generalisation")
    m = run.metric
    figures = {k: m(k) for k in ("seen_exact_before", "seen_exact_after", "unseen_exact_before",
                                 "unseen_exact_after", "unseen_lenient_before", "unseen_lenient_after")}
    print(figures)
    # The seen tasks are learned, and exact-format answers rise on tasks never trained on.
    assert_claims(run)
