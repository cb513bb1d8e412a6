"""Quizzes are data (quizzes/<page-slug>.yml): valid, attached to their pages, readable without JS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def _choice(qid, options):
    return {"id": qid, "type": "choice", "question": "Which?", "links": ["index.md"],
            "explanation": "Because the page says so, and the experiment on it shows it.", "options": options}


# One invented question per tell, and balanced ones that must pass (the checker's self-test).
RIGHT = "Fine-tuning moves the representation, so it can separate what frozen vectors blur."
SHORT_WRONG = [{"text": "It memorises the test set."}, {"text": "Centroids overfit."},
               {"text": "Cosine is blind to sentiment."}, {"text": RIGHT, "correct": True}]
LONG_WRONG = [{"text": "Train the head first.", "correct": True},
              {"text": "Train every layer at once with a far larger learning rate than the head, then stop early."},
              {"text": "Freeze the lower half of the encoder and train the top half together with the new head."}]
ABSOLUTE_WRONG = [{"text": "It always overfits the few labelled messages it is given."},
                  {"text": "It never moves the encoder's weights during the training run."},
                  {"text": "It moves the representation, which frozen vectors cannot do.", "correct": True},
                  {"text": "ALL of the gain comes from the larger learning rate it uses."}]
BALANCED = [{"text": "Centroids overfit: averaging many vectors fits noise a trained head ignores."},
            {"text": "It moves the representation, which the frozen centroids can only read.", "correct": True},
            {"text": "It sees the held-out messages' wording during training, and centroids do not."}]


def test_a_choice_question_whose_wrong_options_share_a_tell_is_rejected():
    """The checker's self-test: each tell is caught, with one error naming the file, the
    question id and the tell; balanced questions, and near misses of each tell, pass."""
    cases = {"short-wrong": (SHORT_WRONG, "under 60% of the correct option's length"),
             "long-wrong": (LONG_WRONG, "over 1.7 times the correct option's length"),
             "absolute-wrong": (ABSOLUTE_WRONG, "absolute word (all, always, never)")}
    for qid, (options, tell) in cases.items():
        with pytest.raises(quizzes.QuizError) as caught:
            quizzes.check_tells(_choice(qid, options), "invented.yml")
        message = str(caught.value)
        assert message.startswith("invented.yml: question '%s'" % qid) and tell in message, message
        problems = quizzes.validate({"questions": [_choice(qid, options)]}, "invented.yml")
        assert problems == [message], problems  # one error per question, the same one
    both = [{"text": "Always.", "correct": False}, {"text": "Never.", "correct": False},
            {"text": RIGHT, "correct": True}]
    with pytest.raises(quizzes.QuizError, match="length.*; and every wrong option holds an absolute word"):
        quizzes.check_tells(_choice("two-tells", both), "invented.yml")

    assert quizzes.validate({"questions": [_choice("balanced", BALANCED)]}) == []
    # Near misses: one wrong option as long as the right one; an absolute word in the right
    # option too; "all" inside a longer word is not the word; an order question has no options.
    one_long = [*SHORT_WRONG[:2], {"text": "Fine-tuning only reads the frozen vectors, as centroids do, though more cleverly."},
                SHORT_WRONG[3]]
    assert quizzes.option_tells(one_long) == []
    hedged_right = [*ABSOLUTE_WRONG[:2], {"text": "It moves the representation, which frozen vectors never do.",
                                          "correct": True}, ABSOLUTE_WRONG[3]]
    assert quizzes.option_tells(hedged_right) == []
    inside_words = [{"text": "Overall, the all-MiniLM-L6-v2 body allows smaller steps."},
                    {"text": "A never-ending run leaves nonetheless the body as it was."},
                    {"text": "It moves the representation, which frozen vectors cannot.", "correct": True}]
    assert quizzes.option_tells(inside_words) == []
    assert [m.group(1) for m in quizzes.ABSOLUTE.finditer("NEVER; (all) only. overall allows none-such Every")] \
        == ["NEVER", "all", "only", "Every"]
    order = {"id": "o", "type": "order", "question": "Order?", "steps": ["a", "b", "c"],
             "explanation": BALANCED[0]["text"], "links": ["index.md"]}
    quizzes.check_tells(order, "invented.yml")  # no options, nothing to check


def test_a_quiz_file_with_a_tell_fails_the_page_that_shows_it(tmp_path, monkeypatch):
    """The rule runs where a build meets the quiz: rendering the page raises the QuizError."""
    (tmp_path / "index.yml").write_text(yaml.safe_dump({"questions": [_choice("short-wrong", SHORT_WRONG)]}),
                                        encoding="utf-8")
    monkeypatch.setattr(quizzes, "QUIZ_DIR", tmp_path)
    with pytest.raises(quizzes.QuizError, match=r"^index\.yml: question 'short-wrong': the wrong options share a tell"):
        quizzes.render("# T\n\n{{ quiz }}\n", "index.md")
    (tmp_path / "index.yml").write_text(yaml.safe_dump({"questions": [_choice("balanced", BALANCED)]}),
                                        encoding="utf-8")
    assert 'id="quiz-balanced"' in quizzes.render("# T\n\n{{ quiz }}\n", "index.md")


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


def correct_letters_by_page(quiz_pages) -> dict[str, list[str]]:
    """The letter of the correct option, as rendered, of each choice question, page by page."""
    return {page: [letter for _, letter, _, _ in _choice_questions_as_rendered([(data, page)])]
            for data, page in quiz_pages}


def _positions_vary(letters: list[str]) -> bool:
    """In a page of three or more choice questions, no letter holds more than half of them
    (rounded up): with three questions, two may share a letter, not all three."""
    return len(letters) < 3 or max(letters.count(x) for x in letters) <= -(-len(letters) // 2)


def off_length_options(quiz_pages) -> list[str]:
    """Wrong options under LENGTH_TELL, or over 1 / LENGTH_TELL, times the correct one's length."""
    low, high = quizzes.LENGTH_TELL, 1 / quizzes.LENGTH_TELL
    return [f"{qid} option {'ABCDEFGHIJ'[i]}: {length} against {lengths[right]} characters"
            for qid, _, lengths, right in _choice_questions_as_rendered(quiz_pages)
            for i, length in enumerate(lengths)
            if i != right and not low <= length / lengths[right] <= high]


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
    # Page by page too: a reader meets one quiz at a time.
    uneven = {page: "".join(letters) for page, letters in correct_letters_by_page(site).items()
              if not _positions_vary(letters)}
    assert not uneven, f"the correct option sits at one letter in most of a page's questions: {uneven}"
    # And option by option: no wrong option stands out by length (the checker in quizzes.py
    # rejects a question where *every* wrong option does; the site holds itself to each one).
    assert not off_length_options(site), f"wrong options far from the correct one's length: {off_length_options(site)}"


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
    # Page by page: all five at B fails, three at A, B and C passes, as does two of three at A.
    assert correct_letters_by_page([(one_place, "index.md")]) == {"index.md": list("BBBBB")}
    assert not _positions_vary(list("BBBBB")) and not _positions_vary(list("AAA")) and _positions_vary(list("AAB"))
    assert _positions_vary(correct_letters_by_page([(balanced, "index.md")])["index.md"])
    assert not _positions_vary(list("CCCCB")) and _positions_vary(list("CCCBA")) and _positions_vary(list("AA"))
    # Option by option: "short" and "tiny" next to a long correct option are both reported.
    assert off_length_options([(given_away, "index.md")])[:2] == [
        "q0 option B: 5 against 35 characters", "q0 option C: 4 against 35 characters"]
    assert off_length_options([(balanced, "index.md")]) == []


# Numbers a quiz may type that are not results of this site's runs, question by question, each
# with its reason. Every other number in a quiz comes from a {{ metric }} directive, a cited source
# or the data set's sizes, as tests/test_typed_numbers.py requires of the pages.
INVENTED_NUMBERS: dict[str, tuple[set[str], str]] = {
    "span-head-size": ({"768", "512", "3", "2", "2,307", "786,434", "1,538", "1,179,648"},
                       "BERT-base's hidden size and length limit, and head sizes computed from them"),
    "lora-count": ({"16", "768", "589,824", "256", "24,576", "12,288", "4"},
                   "a LoRA rank on BERT-base's hidden size, and the counts computed from them"),
    "per-call-cost": ({"300", "30"}, "the lengths of an invented prompt and message"),
    "standard-error": ({"80", "82"}, "the accuracies of two invented classifiers"),
    "cheap-baseline": ({"200"}, "the size of an invented training set"),
}


def quiz_typed_numbers(q: dict, facts: dict) -> list[str]:
    """Numbers typed into a question's text, options, steps or explanation that are neither in a
    directive, math or code, nor cited, nor the data set's sizes, nor invented for it."""
    import test_typed_numbers as scan  # the pages' scanner, applied to each text of the question

    allowed = INVENTED_NUMBERS.get(q.get("id"), (set(), ""))[0]
    texts = [q.get("question"), *(o.get("text") for o in q.get("options") or [] if isinstance(o, dict)),
             *(q.get("steps") or []), q.get("explanation")]
    # One paragraph per text, so that a citation covers only its own sentence.
    flat = "\n\n".join(" ".join(str(text or "").split()) for text in texts) + "\n"
    return ([repr(number) for _, number, _ in scan.typed_numbers(flat, facts) if number not in allowed]
            + [f"{phrase!r} (spelled out)" for _, phrase in scan.spelled_sizes(flat)])


def test_no_quiz_types_a_number_about_the_sites_runs():
    import test_typed_numbers as scan

    facts = scan._data_facts()
    report = [f"quizzes/{page}.yml, {q['id']}: {number}"
              for page, q in _all_questions() for number in quiz_typed_numbers(q, facts)]
    assert not report, ("numbers typed into quizzes (use {{ metric S KEY }}, cite the source, say it in "
                        "words, or, for a number the question invents, list it in INVENTED_NUMBERS):\n"
                        + "\n".join(report))
    ids = {q["id"] for _, q in _all_questions()}
    assert set(INVENTED_NUMBERS) <= ids, f"stale INVENTED_NUMBERS entries: {set(INVENTED_NUMBERS) - ids}"


def test_the_quiz_number_scan_finds_a_typed_result():
    import test_typed_numbers as scan

    facts = scan._data_facts()
    typed = _choice("typed", BALANCED) | {"explanation": "Full fine-tuning reaches 84.2 % here, LoRA 0.81."}
    assert quiz_typed_numbers(typed, facts) == ["'84.2'", "'0.81'"]
    shown = typed | {"explanation": "Full fine-tuning reaches "
                     "{{ metric discarding_pretraining_head/new_head_full_fine_tuning accuracy }} with all 480 "
                     "labels; LIMA used 1,000 examples (Zhou et al.)."}
    assert quiz_typed_numbers(shown, facts) == []  # a directive, a data-set size, a cited number
    spelled = typed | {"explanation": "After fifteen examples the format is learnt."}
    assert quiz_typed_numbers(spelled, facts) == ["'fifteen examples' (spelled out)"]
    invented = _choice("standard-error", BALANCED) | {"question": "One scores 80 %, the other 82 %; the third 85 %."}
    assert quiz_typed_numbers(invented, facts) == ["'85'"]  # only what the entry lists is allowed


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
