"""No result typed by hand (issue 13, section 5).

Every number a page or fragment shows about the site's own runs comes from a result directive
(``{{ metric S KEY }}``, ``{{ table ... }}``, ...), so that it is the number this build measured
and stays true at every ``--scale``. This test scans the prose of ``docs/**/*.md`` and
``snippets/**/*.md`` and fails, with file, line and the number, on any number written in digits
that is not

* inside a directive ``{{ ... }}``,
* inside math (``$...$``, ``$$...$$``) or code (inline ``code``, fenced blocks, ``--8<--``
  include lines, HTML tags and their attributes, link targets and URLs),
* a citation next to its source: in the same sentence (or reference-list item) as an
  external link, an arXiv id or an "et al." attribution, or
* matched by ``ALLOWED`` below: a short, reviewed list of numbers that are not results (model
  names, section numbers, ...). Each entry says why it is not a result.

Sizes of the shipped customer-message set ("480 labels", "the 240 test messages"), the
label-count arms every scale runs, and messages quoted with their id are allowed only where
the test verifies them against the data and the presets; a size that names the arm of the
metric its sentence shows ("with 128 labels ... {{ metric S gap_at_128 }}") is allowed because
the directive fails the build when that arm does not exist. Sizes spelled out in words before
a noun that names a run's size ("fifteen examples", "three people") are reported as well.

A number the scan reports is either replaced by a directive, cited with its source, reworded
away, or — only if it is not a result at all — added to ``ALLOWED`` with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Numbers that are not results. Keep this short; every entry says why it is allowed.
ALLOWED: list[tuple[str, str]] = [
    # Names of models and model families: part of the name, not a measurement.
    (r"SmolLM2-\d+M(?:-Instruct)?", "the model SmolLM2-135M(-Instruct)"),
    (r"\b(?:Llama|Mistral)[- ]\d(?:-\d+b)?(?:-chat|-instruct)?|\bMistral-\d+b", "Llama 2, Llama-2-7b(-chat), Mistral-7b"),
    (r"\bGPT-[1-4]\b", "the model families GPT-2/3/4"),
    # Markup: list and part numbering.
    (r"(?m)^\s*\d+\.(?=\s)|^\*\*\d+\.(?=\s)", "ordered-list markers and the index's part numbers"),
    # Arms of an experiment named by their setting, not results.
    (r"(?i)\branks? [12]\b(?! to \d)", "LoRA ranks 1 and 2: arms of the rank experiment at every scale "
                                       "(synthetic_lora_rank PRESETS; test_allowances_still_hold checks)"),
    # The premise of the guide's running question, not a measurement.
    (r"fewer than 500\b", "the startup question's premise ('fewer than 500 labelled messages')"),
]


def _data_facts() -> dict[str, set[int]]:
    """Sizes of the shipped customer-message set and the label-count arms every scale runs.
    They are allowed only where the test can verify them against the data and the presets, so
    they cannot go stale the way a typed result can."""
    from fieldguide.classification import FINE_TUNING_PRESETS, sentiment_splits

    splits = sentiment_splits()
    sizes = {len(s) for s in splits.values()}
    arms = set.intersection(*(set(p["counts"]) for p in FINE_TUNING_PRESETS.values()))
    return {"messages": sizes | {sum(len(s) for s in splits.values())} | arms,
            "labels": arms | {len(splits["train"])},
            "domains": {len({r["domain"] for r in _rows()})}}


def _rows():
    from fieldguide.classification import DATA_FILE
    from fieldguide.datasets import read_jsonl

    return read_jsonl(DATA_FILE)


# "480 labels", "the 240 test messages", "8, 32, 128 and all 480 training labels", "20 domains"
_FACT = re.compile(r"\b((?:\d+,?\s+)*(?:\d+\s+(?:and|to)\s+)?(?:all\s+)?\d+)\s+(?:(?:customer|labelled|training|test|"
                   r"held-out|validation|business)\s+)*(messages|labels|domains)\b")


def _allow_data_facts(prose: str, facts: dict[str, set[int]]) -> str:
    def check(m: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", m.group(1))]
        if all(n in facts[m.group(2)] for n in numbers):
            return _blank(m)
        return m.group(0)

    return _FACT.sub(check, prose)


SCANNED = sorted([*REPO.glob("docs/**/*.md"), *REPO.glob("snippets/**/*.md")])

_FENCE = re.compile(r"^\s*(```|~~~)")
# Spans replaced by blanks before numbers are looked for (newlines kept, so lines stay right).
_MASKS = [
    re.compile(r"\{\{.*?\}\}", re.S),                    # result directives, {{ quiz }}
    re.compile(r"<!--.*?-->", re.S),                       # HTML comments
    re.compile(r"\$\$.*?\$\$", re.S),                      # display math
    re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<!\s)\$"),    # inline math $...$
    re.compile(r"\\\(.*?\\\)", re.S),                      # inline math \( ... \)
    re.compile(r"(`+)(?:(?!\1).)+?\1", re.S),              # inline code
    re.compile(r"<[A-Za-z/!][^>\n]*>"),                    # HTML tags with their attributes
    re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"),        # link targets ](url "title")
    re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M),         # reference-style link definitions
    re.compile(r"https?://\S+"),                           # bare URLs
    re.compile(r"\{:?\s*[#.][^}\n]*\}"),                   # attribute lists { #id .class }
]
# A number, with an order-of-magnitude suffix if it has one ("22M", "2K", "7b").
NUMBER = re.compile(r"(?<![\w.,])[-+−]?\d+(?:[.,]\d+)*(?:[kKMBb](?![\w]))?(?![\w])")
# A sentence cites its source when it carries an external link, an arXiv id or "et al.".
_CITATION = re.compile(r"\]\(https?://|https?://|arXiv|\bet al\.")
_ABBREVIATIONS = re.compile(r"\b(?:et al|e\.g|i\.e|vs|cf|Fig|Eq|approx)\.")


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _prose(text: str) -> str:
    """``text`` with everything that is not prose blanked out (same length, same lines)."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                lines[: i + 1] = [" " * len(x) for x in lines[: i + 1]]
                break
    fence = None
    for i, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1) == fence:
                fence = None
            lines[i] = " " * len(line)
        elif opened:
            fence = opened.group(1)
            lines[i] = " " * len(line)
        elif line.lstrip().startswith("--8<--"):
            lines[i] = " " * len(line)
    prose = "\n".join(lines)
    for mask in _MASKS:
        prose = mask.sub(_blank, prose)
    return prose


def _sentences(original: str, prose: str):
    """(start, end) spans of the sentences (or list items / table rows) of ``original``."""
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\0"), original)
    bounds = [0]
    for m in re.finditer(r"(?<=[.!?])[*_)\"']*\s+(?=[*_(\"'\[]*[A-Z{])|\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.|\|) )",
                         protected):
        bounds.append(m.end())
    bounds.append(len(original))
    return list(zip(bounds, bounds[1:]))


_DIRECTIVE_KEY = re.compile(r"\{\{\s*(?:metric|claim)\s+[\w/.-]+\s+([\w.-]+)\s*\}\}")


def _arm_labels(sentence: str) -> set[str]:
    """Numbers that name an arm of the experiment whose metric the same sentence shows, as
    in "with 128 labels the gap is {{ metric S gap_at_128 }}": the key carries the number, so
    a build without that arm fails on the directive instead of printing a stale size."""
    return {n for key in _DIRECTIVE_KEY.findall(sentence) for n in re.findall(r"(?<=_)\d+(?=_|$)", key)}


# A message quoted from the data set with its id, as the data sheet does: "..." (`cs-0419`).
_QUOTED = re.compile(r'"([^"]+)"\s*\(`(cs-\d+)`\)')


def _allow_quoted_messages(text: str, prose: str) -> str:
    """Blank numbers inside a quoted message whose text is the data set's message of that id."""
    messages = {r["id"]: " ".join(r["text"].split()) for r in _rows()}
    for m in _QUOTED.finditer(text):
        if " ".join(m.group(1).split()) == messages.get(m.group(2)):
            prose = prose[:m.start()] + _blank(m) + prose[m.end():]
    return prose


def typed_numbers(text: str, facts: dict[str, set[int]] | None = None) -> list[tuple[int, str, str]]:
    """Every typed number in a page's ``text``: (line, number, the line's text)."""
    prose = _prose(text)
    for pattern, _why in ALLOWED:
        prose = re.sub(pattern, _blank, prose)
    prose = _allow_data_facts(prose, facts if facts is not None else _data_facts())
    prose = _allow_quoted_messages(text, prose)
    sentences = _sentences(text, text)
    cited = [(a, b) for a, b in sentences if _CITATION.search(text[a:b])]
    found = []
    for m in NUMBER.finditer(prose):
        if any(a <= m.start() < b for a, b in cited):
            continue
        sentence = next(text[a:b] for a, b in sentences if a <= m.start() < b)
        if m.group(0) in _arm_labels(sentence):
            continue
        line = text.count("\n", 0, m.start()) + 1
        found.append((line, m.group(0), text.split("\n")[line - 1].strip()))
    return found


# Sizes spelled out in words: a count word before a noun that names a scale-dependent size of a
# run ("fifteen examples", "three people", "two CPU cores"). Vague quantities ("a few hundred",
# "dozens") are not matched; hundreds and thousands are orders of magnitude, not sizes.
_COUNT_WORD = (r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
               r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
               r"a dozen)")
_SIZE_NOUN = (r"(?:examples|people|persons|facts|words|pairs|seeds|cores|biographies|countries|steps|epochs|"
              r"rephrasings|tokens|questions)")
SPELLED = re.compile(rf"(?i)\b{_COUNT_WORD}(?:[- ][a-z-]+){{0,2}}? {_SIZE_NOUN}\b")
SPELLED_ALLOWED: list[tuple[str, str]] = [
    ("two CPU cores", "the ci preset's design target, as every snippet's --help states it (checked below)"),
]


def spelled_sizes(text: str) -> list[tuple[int, str]]:
    """Every size spelled out in words in a page's prose, outside cited sentences: (line, phrase)."""
    prose = _prose(text)
    cited = [(a, b) for a, b in _sentences(text, text) if _CITATION.search(text[a:b])]
    allowed = {phrase.lower() for phrase, _why in SPELLED_ALLOWED}
    return [(text.count("\n", 0, m.start()) + 1, m.group(0)) for m in SPELLED.finditer(prose)
            if m.group(0).lower() not in allowed and not any(a <= m.start() < b for a, b in cited)]


def test_no_size_is_spelled_out_by_hand():
    report = [f"{path.relative_to(REPO)}:{line}: {phrase!r}"
              for path in SCANNED for line, phrase in spelled_sizes(path.read_text(encoding="utf-8"))]
    assert not report, "sizes typed in words (use a metric, or reword):\n" + "\n".join(report)


def test_allowances_still_hold():
    """The allowances that rest on a fact of the code are checked against it."""
    rank_arms = re.findall(r'"ranks": \[([^\]]*)\]',
                           (REPO / "snippets" / "fine_tuning_strategies" / "synthetic_lora_rank.py").read_text())
    assert len(rank_arms) >= 2 and all({"1", "2"} <= set(re.findall(r"\d+", arms)) for arms in rank_arms), \
        "LoRA ranks 1 and 2 are no longer run at every scale: update ALLOWED"
    cli = (REPO / "src" / "fieldguide" / "cli.py").read_text(encoding="utf-8")
    assert "ci fits 2 CPU cores" in cli, "the ci preset's stated target changed: update SPELLED_ALLOWED"
    page = "Fifteen examples (three people) unlock most of it. Runs fit two CPU cores.\n"
    assert spelled_sizes(page) == [(1, "Fifteen examples"), (1, "three people")], spelled_sizes(page)


def test_no_number_is_typed_into_a_page_or_fragment():
    report = []
    for path in SCANNED:
        for line, number, where in typed_numbers(path.read_text(encoding="utf-8")):
            report.append(f"{path.relative_to(REPO)}:{line}: {number!r} in: {where[:140]}")
    assert not report, (f"{len(report)} numbers typed by hand (use a directive, cite the source, or "
                        "reword; see this test's docstring):\n" + "\n".join(report))


def test_the_scan_finds_a_typed_number_and_spares_what_is_not_one():
    page = "\n".join([
        "# A page",                                                          # 1
        "The adapter reaches 84 % held-out accuracy with 1,000 examples.",   # 2: two typed results
        "It reaches {{ metric page/snip accuracy }} on SmolLM2-135M-Instruct.",  # 3: directive, model name
        "The loss is $\\log p(y \\mid x) + 2$ and `lr=3e-4` in code.",       # 4: math and code
        "```python",                                                         # 5
        "steps = 200",                                                       # 6: fenced code
        "```",                                                               # 7
        '--8<-- "snippets/page/snip_2.md"',                                  # 8: include line
        "LIMA used 1,000 examples (Zhou et al., arXiv 2305.11206).",         # 9: cited with its source
        '<img width="300" src="a.svg"> See §4.2.3 and the top-3 tokens.',    # 10: attribute, section, top-k
        "- Three steps, then 0.5 of them.",                                  # 11: a list item with a result
        "1. The encoder (22M parameters) trains for 2K steps.",              # 12: list marker; sizes with suffixes
    ])
    found = typed_numbers(page)
    assert [(line, number) for line, number, _ in found] == [
        (2, "84"), (2, "1,000"), (11, "0.5"), (12, "22M"), (12, "2K")], found


def test_allowances_are_verified_not_trusted():
    facts = {"messages": {240, 480}, "labels": {8, 480}, "domains": {20}}
    page = "\n".join([
        "With all 480 labels, on the 240 test messages of 20 domains.",            # 1: true data facts
        "With all 500 labels, on the 241 test messages.",                           # 2: not the data's sizes
        "With 8 labels it averages {{ metric p/s named_at_8 }}.",                   # 3: the arm its key names
        "With 16 examples it averages {{ metric p/s named_at_8 }}.",                # 4: a size the key does not name
        '- "Buffering every few minutes on a 200 Mbps connection." (`cs-0419`)',    # 5: the data's message
        '- "Buffering every few minutes on a 300 Mbps connection." (`cs-0419`)',    # 6: misquoted
    ])
    found = [(line, number) for line, number, _ in typed_numbers(page, facts)]
    assert found == [(2, "500"), (2, "241"), (4, "16"), (6, "300")], found


def test_every_scanned_file_is_read():
    assert len(SCANNED) > 30
    assert any(p.parts[-3] == "snippets" for p in SCANNED if len(p.parts) > 3)
