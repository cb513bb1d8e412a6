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
    # The decision page's measured answer (compare_strategies): with the startup's few
    # hundred labels and a CPU, fine-tune a small pre-trained encoder.
    assert "fine-tune a small pre-trained encoder" in right.lower()
    assert "prompting/selecting-adaptation-strategy.md" in startup["links"]
    assert "compare_strategies" in startup["explanation"]  # the answer is shown from the run
    steps = found["adaptation-steps"][1]
    assert steps["type"] == "order"
    assert steps["steps"][0].lower().startswith("choose a pre-trained model")
    assert "evaluate" in steps["steps"][-1].lower()
    # Only one order is right: the held-out split is fixed in the question, not a step
    # that could go first or third.
    assert "held-out split" in steps["question"] and "already split" in steps["question"]
    assert not any(s.lower().startswith(("prepare", "split")) for s in steps["steps"])
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


def _choice_questions_as_rendered(quiz_pages):
    """(question id, letter of the correct option as rendered, option lengths, index of the
    correct option) for every choice question of [(quiz data, page path)]."""
    for data, page in quiz_pages:
        html = quizzes.render_quiz(data, page)
        for q in data["questions"]:
            if q["type"] != "choice":
                continue
            block = html.split(f'id="quiz-{q["id"]}"', 1)[1].split("</ol>", 1)[0]
            shown = re.findall(r'<li data-correct="(true|false)" data-letter="([A-J])">', block)
            assert len(shown) == len(q["options"]), q["id"]
            letter = next(letter for correct, letter in shown if correct == "true")
            right = next(i for i, o in enumerate(q["options"]) if o.get("correct") is True)
            yield q["id"], letter, [len(str(o["text"]).strip()) for o in q["options"]], right


def answer_cues(quiz_pages) -> tuple[int, list[str], dict[str, int]]:
    """How many choice questions, which have the correct option as the longest (ties
    count), and how often the correct option is rendered at each letter."""
    rows = list(_choice_questions_as_rendered(quiz_pages))
    longest = [qid for qid, _, lengths, right in rows if lengths[right] >= max(lengths)]
    positions: dict[str, int] = {}
    for _, letter, _, _ in rows:
        positions[letter] = positions.get(letter, 0) + 1
    return len(rows), longest, positions


def _cues_ok(n, longest, positions) -> bool:
    return len(longest) <= 0.35 * n and max(positions.values()) <= 0.40 * n


def test_the_answer_is_not_given_away_by_length_or_position():
    """Over all choice questions: the correct option is the longest (ties count) in at most
    35 % of them, and in any one position, as rendered, in at most 40 %."""
    site = [(quizzes.load(path), next(DOCS.rglob(f"{path.stem}.md")).relative_to(DOCS).as_posix())
            for path in QUIZ_FILES]
    n, longest, positions = answer_cues(site)
    shares = {k: f"{v} ({v / n:.0%})" for k, v in sorted(positions.items())}
    print(f"{n} choice questions; correct option longest in {len(longest)} ({len(longest) / n:.0%}); "
          f"positions {shares}")
    assert n >= 60
    assert len(longest) <= 0.35 * n, f"the correct option is the longest in {len(longest)} of {n}: {longest}"
    worst = max(positions, key=positions.get)
    assert positions[worst] <= 0.40 * n, f"the correct option is {worst} in {positions[worst]} of {n}"
    assert _cues_ok(n, longest, positions)


def test_the_length_and_position_check_fails_on_a_quiz_that_gives_answers_away():
    def question(i, options):
        return {"id": f"q{i}", "type": "choice", "question": "Which?", "links": ["index.md"],
                "explanation": "Because the page says so, and the experiment on it shows it.",
                "options": options}
    long_first = [{"text": "the long and careful correct option", "correct": True}, {"text": "short"}, {"text": "tiny"}]
    short_b = [{"text": "a long wrong option"}, {"text": "right", "correct": True}, {"text": "another wrong one"}]
    rotated = [[{"text": "a wrong option"}, {"text": "another wrong"}, {"text": "a third wrong"}] for _ in range(3)]
    for i, options in enumerate(rotated):
        options[i]["correct"] = True
    given_away = {"questions": [question(i, long_first) for i in range(5)]}
    n, longest, positions = answer_cues([(given_away, "index.md")])
    assert (n, len(longest), positions) == (5, 5, {"A": 5}) and not _cues_ok(n, longest, positions)
    one_place = {"questions": [question(i, short_b) for i in range(5)]}
    n, longest, positions = answer_cues([(one_place, "index.md")])
    assert (len(longest), positions) == (0, {"B": 5}) and not _cues_ok(n, longest, positions)
    balanced = {"questions": [question(i, options) for i, options in enumerate(rotated)]}
    assert _cues_ok(*answer_cues([(balanced, "index.md")]))


@pytest.mark.parametrize("page", CONCEPT_PAGES, ids=lambda p: p.stem)
def test_concept_page_quiz_has_three_questions_one_read_from_its_run(page):
    """At least three questions per concept page, and at least one whose explanation shows
    an executed result through a directive (so the answer needs the page's run)."""
    from fieldguide_site.executed_results import DIRECTIVE
    from fieldguide_site.execute import snippet_path

    questions = quizzes.load(quizzes.quiz_file(page.name))["questions"]
    tied = [q["id"] for q in questions if DIRECTIVE.search(str(q.get("explanation", "")))]
    print(f"{page.stem}: {len(questions)} questions, {len(tied)} showing a result")
    assert len(questions) >= 3, f"{page.stem}: {len(questions)} questions"
    assert tied, f"{page.stem}: no question's explanation shows a result directive"
    for q in questions:
        for kind, name, key in DIRECTIVE.findall(str(q.get("explanation", ""))):
            snippet_path(name)  # names a real snippet (the build checks the key in its run)
            assert kind == "metric" and key, f"{q['id']}: use {{{{ metric S KEY }}}} in a quiz"


def test_result_directives_in_explanations_reach_the_page_markdown_unescaped():
    """quizzes.render runs before executed_results.render (hooks.on_page_markdown), so a
    directive in an explanation must survive the quiz renderer verbatim to be expanded."""
    page = "prompting/efficiency-of-prompting.md"
    html = quizzes.render("# T\n\n{{ quiz }}\n", page)
    assert "{{ metric selecting_adaptation_strategy/compare_strategies best_accuracy }}" in html
