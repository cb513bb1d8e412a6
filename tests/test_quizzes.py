"""Quizzes are data (quizzes/<page-slug>.yml): valid, attached to their pages, readable without JS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fieldguide_site import quizzes

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SECTIONS = ("foundations", "encoders", "llms", "prompting", "alignment")
CONCEPT_PAGES = sorted(p for s in SECTIONS for p in (DOCS / s).glob("*.md"))
QUIZ_FILES = sorted(quizzes.QUIZ_DIR.glob("*.yml"))
# The course seed's four questions and the page each belongs to.
SEED_QUESTIONS = {
    "startup-sentiment": "efficiency-of-prompting",
    "adaptation-steps": "selecting-adaptation-strategy",
    "translation-after-short-training": "activating-pretrained-knowledge",
    "entirely-new-capabilities": "evaluating-researchers-conclusion",
}


def _all_questions():
    for path in QUIZ_FILES:
        for q in quizzes.load(path)["questions"]:
            yield path.stem, q


def test_quiz_count():
    n_questions = sum(1 for _ in _all_questions())
    print(f"{len(QUIZ_FILES)} quizzes, {n_questions} questions, {len(CONCEPT_PAGES)} concept pages")
    assert len(CONCEPT_PAGES) == 20
    assert len(QUIZ_FILES) >= 20


@pytest.mark.parametrize("path", QUIZ_FILES, ids=lambda p: p.stem)
def test_quiz_is_valid(path):
    problems = quizzes.validate(quizzes.load(path), path.name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", QUIZ_FILES, ids=lambda p: p.stem)
def test_quiz_belongs_to_a_page_that_shows_it(path):
    pages = [p for p in DOCS.rglob(f"{path.stem}.md")]
    assert len(pages) == 1, f"{path.name}: expected one page docs/**/{path.stem}.md, found {pages}"
    assert quizzes.DIRECTIVE.search(pages[0].read_text(encoding="utf-8")), \
        f"{pages[0].relative_to(REPO)} has a quiz file but no {{{{ quiz }}}} line"


@pytest.mark.parametrize("page", CONCEPT_PAGES, ids=lambda p: p.stem)
def test_every_concept_page_has_a_quiz(page):
    assert quizzes.quiz_file(page.name).is_file(), f"no quizzes/{page.stem}.yml"
    text = page.read_text(encoding="utf-8")
    assert quizzes.DIRECTIVE.search(text), f"{page.name}: no {{{{ quiz }}}} line"
    assert re.search(r"^## Check yourself\s*$", text, re.MULTILINE)


def test_the_seed_questions_are_on_their_pages_with_the_right_answers():
    found = {q["id"]: (page, q) for page, q in _all_questions() if q.get("source") == "seed"}
    assert set(found) == set(SEED_QUESTIONS)
    for qid, (page, q) in found.items():
        assert page == SEED_QUESTIONS[qid], f"{qid} is on {page}"
    startup = found["startup-sentiment"][1]
    right = next(o["text"] for o in startup["options"] if o.get("correct"))
    assert "prompt" in right.lower() and "without retraining" in right.lower()
    assert "prompting/selecting-adaptation-strategy.md" in startup["links"]
    steps = found["adaptation-steps"][1]
    assert steps["type"] == "order"
    assert steps["steps"][0].lower().startswith("choose a pre-trained model")
    assert "evaluate" in steps["steps"][-1].lower()
    assert "prompting/selecting-adaptation-strategy.md#the-startups-question-measured" in steps["links"]  # the table
    translation = found["translation-after-short-training"][1]
    right = next(o["text"] for o in translation["options"] if o.get("correct"))
    assert "already acquired in pre-training" in right
    researcher = found["entirely-new-capabilities"][1]
    right = next(o["text"] for o in researcher["options"] if o.get("correct"))
    assert right.startswith("No")


def test_validation_catches_broken_quizzes():
    good = {"id": "q", "type": "choice", "question": "Which?", "links": ["index.md"],
            "explanation": "Because the page says so, and the experiment on it shows it.",
            "options": [{"text": "a", "correct": True}, {"text": "b"}]}
    assert quizzes.validate({"questions": [good]}) == []
    two_right = dict(good, options=[{"text": "a", "correct": True}, {"text": "b", "correct": True}])
    assert "exactly one option" in "\n".join(quizzes.validate({"questions": [two_right]}))
    none_right = dict(good, options=[{"text": "a"}, {"text": "b"}])
    assert "exactly one option" in "\n".join(quizzes.validate({"questions": [none_right]}))
    no_why = dict(good, explanation="")
    assert "explanation" in "\n".join(quizzes.validate({"questions": [no_why]}))
    bad_link = dict(good, links=["nowhere/missing.md"])
    assert "does not exist" in "\n".join(quizzes.validate({"questions": [bad_link]}))
    short_order = {"id": "o", "type": "order", "question": "Order?", "steps": ["a", "a"],
                   "explanation": good["explanation"], "links": ["index.md"]}
    assert "at least three steps" in "\n".join(quizzes.validate({"questions": [short_order]}))
    assert quizzes.validate({"questions": []})


def test_rendered_quiz_is_readable_without_javascript():
    page = "prompting/selecting-adaptation-strategy.md"
    html = quizzes.render("# T\n\n{{ quiz }}\n", page)
    assert "{{ quiz }}" not in html
    assert '<details class="fg-quiz__answer"' in html and "<summary>" in html
    assert "**Correct order:**" in html  # the answer, in the page source, for readers without JS
    shown = [int(i) for i in re.findall(r'data-step="(\d+)"', html)]
    assert sorted(shown) == list(range(len(shown))) and shown != sorted(shown)  # shuffled
    assert "](../encoders/discarding-pretraining-head.md)" in html  # links relative to the page


def test_quiz_directive_without_data_fails_the_build():
    with pytest.raises(quizzes.QuizError, match="does not exist"):
        quizzes.render("{{ quiz }}\n", "foundations/no-such-page.md")
