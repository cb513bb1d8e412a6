"""Quizzes: data in ``quizzes/<page-slug>.yml``, rendered where a page says ``{{ quiz }}``.

A quiz file holds the questions of one page::

    questions:
      - id: startup-sentiment            # unique within the file
        type: choice                     # one correct option
        source: seed                     # optional: the question comes from the course seed
        question: A startup wants ...
        options:
          - text: Pre-train a new model from scratch
          - text: Prompt it with a few labelled examples ...
            correct: true
        explanation: Markdown that says why, and where the site shows it.
        links: [prompting/selecting-adaptation-strategy.md]   # docs-relative, '#anchor' allowed
      - id: adaptation-steps
        type: order                      # the reader puts the steps in order
        question: Arrange the steps ...
        steps: [first, second, third]    # listed in the CORRECT order; shown shuffled
        explanation: ...

An explanation may show an executed result inline with ``{{ metric <snippet> <key> }}``:
the hooks expand a page's quiz before its result directives, and the explanation is emitted
unescaped. Options are shown in the order written, so vary where the correct one sits and
keep options of similar length; ``tests/test_quizzes.py`` checks both, across the site, page
by page and option by option, and fails a quiz that types a number about the site's own runs
(show it with ``{{ metric ... }}`` or say it in words).

Wrong options must not share a *tell* that singles out the correct one without the reader
knowing the subject; ``validate`` rejects a choice question where

- every wrong option is under ``LENGTH_TELL`` (60 %) of the correct option's length in
  characters, or every wrong option is over ``1 / LENGTH_TELL`` times it (the correct one is
  the odd one out by length);
- every wrong option holds an absolute word (``ABSOLUTE_WORDS``: always, never, all, ...,
  whole words, any case) and the correct option holds none.

A good wrong option is a misconception a half-informed reader would pick, as long and as
hedged as the correct one, and the explanation says why it is wrong.

The rendered block is readable without JavaScript: options (or the shuffled steps) are a
list and the answer with its explanation sits in a ``<details>`` block.
``docs/assets/javascripts/quiz.js`` makes options clickable, lets the reader reorder the
steps, and reveals right/wrong plus the explanation.
"""

from __future__ import annotations

import html
import posixpath
import random
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
QUIZ_DIR = REPO / "quizzes"
DOCS = REPO / "docs"
DIRECTIVE = re.compile(r"^\{\{\s*quiz\s*\}\}\s*$", re.MULTILINE)
TYPES = ("choice", "order")
LETTERS = "ABCDEFGHIJ"
# Tells: the correct option is the odd one out by length, or the only one without an
# absolute claim (see the module docstring).
LENGTH_TELL = 0.6
ABSOLUTE_WORDS = ("always", "never", "all", "none", "only", "every", "completely", "entirely",
                  "guaranteed", "impossible")
# Whole words only: not "overall" or "allow", nor a hyphenated name such as all-MiniLM-L6-v2.
ABSOLUTE = re.compile(r"(?<![\w-])(" + "|".join(ABSOLUTE_WORDS) + r")(?![\w-])", re.IGNORECASE)


class QuizError(ValueError):
    pass


def quiz_file(page_path: str) -> Path:
    """quizzes/<page-slug>.yml for a page ``section/page-slug.md``."""
    return QUIZ_DIR / f"{Path(page_path).stem}.yml"


def load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise QuizError(f"{path.name}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise QuizError(f"{path.name}: expected a mapping with 'questions'")
    return data


def page_title(doc: str, docs_dir: Path = DOCS) -> str:
    """The front-matter title (or first H1) of a docs-relative page."""
    text = (docs_dir / doc).read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if match:
        meta = yaml.safe_load(match.group(1)) or {}
        if meta.get("title"):
            return str(meta["title"])
    h1 = re.search(r"^# (.+)$", text, re.MULTILINE)
    return h1.group(1).strip() if h1 else doc


def option_tells(options: list) -> list[str]:
    """The tells the wrong options of a choice question share, in words (empty: none).

    ``options`` as in a quiz file: mappings with 'text' and one 'correct: true'."""
    texts = [str(o.get("text", "")).strip() for o in options]
    right = [i for i, o in enumerate(options) if o.get("correct") is True]
    if len(right) != 1 or len(texts) < 2 or not all(texts):
        return []  # malformed; validate reports that on its own
    correct = texts[right[0]]
    wrong = [t for i, t in enumerate(texts) if i != right[0]]
    tells = []
    if all(len(t) < LENGTH_TELL * len(correct) for t in wrong):
        tells.append(f"every wrong option is under {LENGTH_TELL:.0%} of the correct option's length "
                     f"({', '.join(str(len(t)) for t in wrong)} characters against {len(correct)})")
    elif all(LENGTH_TELL * len(t) > len(correct) for t in wrong):
        tells.append(f"every wrong option is over {1 / LENGTH_TELL:.2g} times the correct option's length "
                     f"({', '.join(str(len(t)) for t in wrong)} characters against {len(correct)})")
    if not ABSOLUTE.search(correct) and all(ABSOLUTE.search(t) for t in wrong):
        words = sorted({ABSOLUTE.search(t).group(1).lower() for t in wrong})
        tells.append(f"every wrong option holds an absolute word ({', '.join(words)}) "
                     f"and the correct option none")
    return tells


def check_tells(q: dict, name: str = "quiz") -> None:
    """Raise one QuizError naming the file, the question id and every tell its wrong
    options share; nothing for a question without tells (or that is not a choice)."""
    if q.get("type") != "choice" or not isinstance(q.get("options"), list):
        return
    if not all(isinstance(o, dict) for o in q["options"]):
        return
    tells = option_tells(q["options"])
    if tells:
        raise QuizError(f"{name}: question '{q.get('id')}': the wrong options share a tell that "
                        f"gives the answer away: " + "; and ".join(tells)
                        + ". Write wrong options a half-informed reader would choose.")


def validate(data: dict, name: str = "quiz", docs_dir: Path = DOCS) -> list[str]:
    """Every problem with a quiz, as readable lines (empty: the quiz is valid)."""
    problems = []
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        return [f"{name}: needs a non-empty list 'questions'"]
    seen = set()
    for i, q in enumerate(questions, 1):
        where = f"{name} question {i}"
        if not isinstance(q, dict):
            problems.append(f"{where}: not a mapping")
            continue
        qid = q.get("id")
        if not qid or not isinstance(qid, str) or not re.fullmatch(r"[a-z0-9-]+", qid):
            problems.append(f"{where}: needs an 'id' of lowercase letters, digits and dashes")
        elif qid in seen:
            problems.append(f"{where}: duplicate id '{qid}'")
        seen.add(qid)
        if q.get("type") not in TYPES:
            problems.append(f"{where}: 'type' must be one of {TYPES}")
        if not str(q.get("question") or "").strip():
            problems.append(f"{where}: no question text")
        if len(str(q.get("explanation") or "").strip()) < 40:
            problems.append(f"{where}: the explanation is missing or too short to explain anything")
        if q.get("type") == "choice":
            options = q.get("options")
            if not isinstance(options, list) or len(options) < 2:
                problems.append(f"{where}: a choice question needs at least two options")
            else:
                texts = [str(o.get("text", "")).strip() if isinstance(o, dict) else "" for o in options]
                if not all(texts):
                    problems.append(f"{where}: every option needs a 'text'")
                if len(set(texts)) != len(texts):
                    problems.append(f"{where}: two options have the same text")
                correct = [o for o in options if isinstance(o, dict) and o.get("correct") is True]
                if len(correct) != 1:
                    problems.append(f"{where}: exactly one option must be 'correct: true' (found {len(correct)})")
                extra = {k for o in options if isinstance(o, dict) for k in o} - {"text", "correct"}
                if extra:
                    problems.append(f"{where}: unknown option keys {sorted(extra)}")
                try:
                    check_tells(q, name)
                except QuizError as err:
                    problems.append(str(err))
        elif q.get("type") == "order":
            steps = q.get("steps")
            if not isinstance(steps, list) or len(steps) < 3:
                problems.append(f"{where}: an order question needs at least three steps")
            elif len({str(s).strip() for s in steps}) != len(steps) or not all(str(s).strip() for s in steps):
                problems.append(f"{where}: steps must be distinct and non-empty")
        links = q.get("links", [])
        if not isinstance(links, list) or not links:
            problems.append(f"{where}: 'links' must name at least one page that shows the answer")
        else:
            for link in links:
                doc = str(link).split("#", 1)[0]
                if not doc.endswith(".md") or not (docs_dir / doc).is_file():
                    problems.append(f"{where}: linked page '{link}' does not exist under docs/")
    return problems


def _shuffled(steps: list, qid: str) -> list[int]:
    """A fixed, never-correct presentation order of the step indices."""
    order = list(range(len(steps)))
    rng = random.Random(qid)
    while order == sorted(order):
        rng.shuffle(order)
    return order


def _relative(target: str, page_path: str) -> str:
    doc, _, anchor = target.partition("#")
    rel = posixpath.relpath(doc, posixpath.dirname(page_path) or ".")
    return rel + (f"#{anchor}" if anchor else "")


def _links_md(q: dict, page_path: str, docs_dir: Path) -> str:
    parts = []
    for link in q.get("links", []):
        doc, _, anchor = str(link).partition("#")
        if doc == page_path and not anchor:
            continue  # a link to the page itself says nothing
        title = page_title(doc, docs_dir)
        parts.append(f"[{title}]({_relative(str(link), page_path)})")
    return ("See: " + "; ".join(parts) + ".") if parts else ""


def _question_html(n: int, q: dict, page_path: str, docs_dir: Path) -> str:
    esc = html.escape
    qid = q["id"]
    head = (f'<p class="fg-quiz__question"><strong>Question {n}.</strong> '
            f'{esc(str(q["question"]).strip())}</p>')
    if q["type"] == "choice":
        items = []
        for i, option in enumerate(q["options"]):
            correct = "true" if option.get("correct") is True else "false"
            items.append(f'<li data-correct="{correct}" data-letter="{LETTERS[i]}">'
                         f'{esc(str(option["text"]).strip())}</li>')
        body = '<ol class="fg-quiz__options" type="A">\n' + "\n".join(items) + "\n</ol>"
        right = next(i for i, o in enumerate(q["options"]) if o.get("correct") is True)
        summary = "Answer and explanation"
        answer = f"**Answer: {LETTERS[right]}.** {str(q['options'][right]['text']).strip()}"
    else:
        steps = [str(s).strip() for s in q["steps"]]
        shown = _shuffled(steps, qid)
        items = [f'<li data-step="{i}">{esc(steps[i])}</li>' for i in shown]
        body = ('<p class="fg-quiz__hint">The steps below are shuffled; put them in order.</p>\n'
                '<ol class="fg-quiz__steps">\n' + "\n".join(items) + "\n</ol>")
        summary = "Correct order and explanation"
        answer = "**Correct order:**\n\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    explanation = str(q["explanation"]).strip()
    links = _links_md(q, page_path, docs_dir)
    source = ' data-source="seed"' if q.get("source") == "seed" else ""
    return (
        f'<div class="fg-quiz__item" id="quiz-{qid}" data-kind="{q["type"]}" data-qid="{qid}"{source} markdown="1">\n\n'
        f"{head}\n\n{body}\n\n"
        f'<p class="fg-quiz__feedback" role="status" aria-live="polite"></p>\n\n'
        f'<details class="fg-quiz__answer" markdown="1">\n<summary>{summary}</summary>\n\n'
        f"{answer}\n\n{explanation}\n\n{links}\n\n</details>\n\n</div>\n"
    )


def render_quiz(data: dict, page_path: str, docs_dir: Path = DOCS) -> str:
    blocks = [_question_html(n, q, page_path, docs_dir) for n, q in enumerate(data["questions"], 1)]
    return '\n<div class="fg-quiz" markdown="1">\n\n' + "\n".join(blocks) + "\n</div>\n"


def render(markdown: str, page_path: str, docs_dir: Path = DOCS) -> str:
    """Replace a ``{{ quiz }}`` line with the page's quiz; raise QuizError if it is broken."""
    if not DIRECTIVE.search(markdown):
        return markdown
    path = quiz_file(page_path)
    if not path.is_file():
        raise QuizError(f"{page_path}: has {{{{ quiz }}}} but {path.relative_to(REPO)} does not exist")
    data = load(path)
    problems = validate(data, path.name, docs_dir)
    if problems:
        raise QuizError("\n".join(problems))
    rendered = render_quiz(data, page_path, docs_dir)
    return DIRECTIVE.sub(lambda _m: rendered, markdown, count=1)
