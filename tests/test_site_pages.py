"""The site mirrors the seed's concept graph: a page per concept, symmetric Related links,
every page in the navigation, and no broken internal link or anchor in the built site."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SHARED = REPO.parent / "shared"  # CI: a fresh clone with shared/ beside it
SECTIONS = ("foundations", "encoders", "llms", "prompting", "alignment")
CONCEPT_PAGES = sorted(p for s in SECTIONS for p in (DOCS / s).glob("*.md"))
# A long concept page splits into subpages in a folder of its own name (issue 26 §5).
SUBPAGES = sorted(p for page in CONCEPT_PAGES for p in page.with_suffix("").glob("*.md"))
REQUIRED_SECTIONS = ("## See it run", "## Related", "## References", "## Check yourself")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _front_matter(path: Path) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.DOTALL)
    return yaml.safe_load(match.group(1)) if match else {}


def seed_titles() -> list[str]:
    """Concept titles of the seed: its own title and every title under 'Related'.

    Titles are short lines; the seed's quiz questions (long sentences ending in '.' or
    '?') sit between them and are left out.
    """
    seeds = sorted((SHARED / "seed").glob("*.txt"))
    if not seeds:
        pytest.skip(f"the course seed is not available at {SHARED / 'seed'}")
    lines = [line.strip() for line in seeds[0].read_text(encoding="utf-8").splitlines()]
    titles = [lines[0]]
    after = lines[lines.index("Related") + 1:]
    titles += [t for t in after if t and len(t) < 100 and not t.endswith((".", "?"))]
    return list(dict.fromkeys(titles))


def related_links(page: Path) -> list[str]:
    """Docs-relative targets of the links in a page's '## Related' section."""
    text = page.read_text(encoding="utf-8")
    match = re.search(r"^## Related\s*\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"{page.relative_to(REPO)} has no '## Related' section"
    base = posixpath.dirname(page.relative_to(DOCS).as_posix())
    return [posixpath.normpath(posixpath.join(base, target.split("#")[0]))
            for _, target in LINK.findall(match.group(1))]


def test_every_seed_concept_has_its_page():
    titles = seed_titles()
    pages = {_front_matter(p).get("title"): p for p in CONCEPT_PAGES}
    missing = [t for t in titles if t not in pages]
    print(f"{len(titles)} concept titles in the seed, {len(CONCEPT_PAGES)} concept pages")
    assert len(titles) == 20
    assert not missing, f"seed concepts without a page: {missing}"


@pytest.mark.parametrize("page", CONCEPT_PAGES, ids=lambda p: p.stem)
def test_page_has_the_standard_sections_and_tags(page):
    text = page.read_text(encoding="utf-8")
    for heading in REQUIRED_SECTIONS:
        assert re.search(rf"^{re.escape(heading)}\b", text, re.MULTILINE), f"{page.name}: no '{heading}'"
    meta = _front_matter(page)
    assert meta.get("title") and re.search(rf"^# {re.escape(meta['title'])}\s*$", text, re.MULTILINE)
    tags = meta.get("tags") or []
    assert "Foundations of Large Language Models" in tags and "Computing Sciences" in tags
    assert any(t.startswith("Ch.") for t in tags)
    assert re.search(r"arXiv[: ]\[?\d{4}\.\d{4,5}", text), f"{page.name}: no arXiv reference"


@pytest.mark.parametrize("page", CONCEPT_PAGES, ids=lambda p: p.stem)
def test_see_it_run_includes_a_real_snippet(page):
    """No placeholders: every concept page shows an executed snippet (directly or via a fragment)."""
    text = page.read_text(encoding="utf-8")
    match = re.search(r"^## See it run.*?$(.*?)(?=^## Related)", text, re.MULTILINE | re.DOTALL)
    assert match, f"{page.name}: no '## See it run' section before '## Related'"
    includes = re.findall(r'^\s*--8<-- "(snippets/[^"]+\.(?:py|md))"', match.group(1), re.MULTILINE)
    assert includes, f"{page.name}: 'See it run' includes no snippet"
    for target in includes:
        assert (REPO / target).is_file(), f"{page.name}: includes missing {target}"
    assert not re.search(r"appears here|is added here|coming soon|TODO", match.group(1)), \
        f"{page.name}: a placeholder sentence is left in 'See it run'"


# The collapsed whole script: '??? example "The whole script..."' and, inside it, the include of the file.
WHOLE_SCRIPT = re.compile(r'^\?\?\? example "The whole script[^\n]*\n(?:[ \t]*\n)*[ \t]*```python[^\n]*\n'
                          r'[ \t]*--8<-- "(snippets/[\w/]+\.py)"[ \t]*$', re.MULTILINE)
# A key-lines include: one named section of a file (pymdownx.snippets' "path:section").
SECTION_INCLUDE = re.compile(r'^[ \t]*--8<-- "([\w/.-]+\.py):([a-z][-_0-9a-z]*)"[ \t]*$', re.MULTILINE)


def _section_lines(code: str, section: str) -> list[str] | None:
    """The lines between '# --8<-- [start:section]' and its end marker, or None when the pair is not there
    once, in order. Markers in exactly this form are the ones a snippet's run key leaves out."""
    marker = r"^[ \t]*# --8<-- \[{}:" + re.escape(section) + r"\][ \t]*$"
    starts = [m.end() for m in re.finditer(marker.format("start"), code, re.MULTILINE)]
    ends = [m.start() for m in re.finditer(marker.format("end"), code, re.MULTILINE)]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        return None
    return [line for line in code[starts[0]:ends[0]].splitlines()
            if line.strip() and not re.match(r"^[ \t]*# --8<-- \[(?:start|end):", line)]


def test_every_whole_script_comes_after_its_key_lines():
    """A page or fragment that shows a snippet's whole script (collapsed) shows, before it, at least one
    section of that same file: the lines that are the idea. Every section any page names exists in its
    file, once, and holds code, so a key-lines block can never silently show nothing."""
    problems, shown = [], 0
    for path in sorted(DOCS.rglob("*.md")) + sorted((REPO / "snippets").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        for match in WHOLE_SCRIPT.finditer(text):
            shown += 1
            before = [s for target, s in SECTION_INCLUDE.findall(text[:match.start()]) if target == match.group(1)]
            if not before:
                problems.append(f"{where}: shows the whole of {match.group(1)} with no key lines of it before")
        for target, section in SECTION_INCLUDE.findall(text):
            if not (REPO / target).is_file():
                problems.append(f"{where}: includes {target}:{section}, but there is no {target}")
                continue
            lines = _section_lines((REPO / target).read_text(encoding="utf-8"), section)
            if lines is None:
                problems.append(f"{where}: {target} has no single '# --8<-- [start:{section}]' ... "
                                f"'# --8<-- [end:{section}]' pair")
            elif not lines:
                problems.append(f"{where}: section '{section}' of {target} is empty")
    assert shown >= 20, f"only {shown} whole scripts found: has the block's wording changed?"
    assert not problems, "\n".join(problems)


def test_related_links_resolve_and_are_symmetric():
    graph = {p.relative_to(DOCS).as_posix(): related_links(p) for p in CONCEPT_PAGES}
    flagship = "llms/activating-pretrained-knowledge.md"
    problems = []
    for page, targets in graph.items():
        if not targets:
            problems.append(f"{page}: empty Related section")
        for target in targets:
            if not (DOCS / target).is_file():
                problems.append(f"{page}: Related link to missing page {target}")
            elif target in graph and page not in graph[target]:
                problems.append(f"{page} -> {target} but not back")
        if page != flagship and flagship not in targets:
            problems.append(f"{page}: does not relate to the flagship (the seed relates every concept to it)")
    n_links = sum(len(t) for t in graph.values())
    print(f"{n_links} Related links over {len(graph)} pages")
    assert not problems, "\n".join(problems)


def test_every_page_is_in_the_navigation():
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    listed = set()

    def walk(node):
        if isinstance(node, str):
            listed.add(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config["nav"])
    missing = [p.relative_to(DOCS).as_posix() for p in CONCEPT_PAGES + SUBPAGES
               if p.relative_to(DOCS).as_posix() not in listed]
    assert not missing, f"pages not in mkdocs.yml nav: {missing}"
    assert "tags.md" in listed


def _links_to(page: Path) -> set[str]:
    """Docs-relative targets of every Markdown link on a page."""
    base = posixpath.dirname(page.relative_to(DOCS).as_posix())
    return {posixpath.normpath(posixpath.join(base, target.split("#")[0]))
            for _, target in LINK.findall(page.read_text(encoding="utf-8")) if not target.startswith(("http", "#"))}


def test_every_subpage_and_its_concept_page_link_to_each_other():
    """A reader finds a subpage from its concept page, and the way back from it; a subpage has a title."""
    problems = []
    for sub in SUBPAGES:
        concept, rel = sub.parent.with_suffix(".md"), sub.relative_to(DOCS).as_posix()
        if rel not in _links_to(concept):
            problems.append(f"{concept.relative_to(DOCS)} does not link to its subpage {rel}")
        if concept.relative_to(DOCS).as_posix() not in _links_to(sub):
            problems.append(f"{rel} does not link back to {concept.relative_to(DOCS)}")
        if not re.search(r"^# \S", sub.read_text(encoding="utf-8"), re.MULTILINE):
            problems.append(f"{rel} has no '# ' title")
    print(f"{len(SUBPAGES)} subpages: {[p.relative_to(DOCS).as_posix() for p in SUBPAGES]}")
    assert not problems, "\n".join(problems)


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_no_broken_internal_link_or_anchor(built_site: Path):
    pages = {p: _parse(p) for p in built_site.rglob("*.html")}
    broken, checked = [], 0
    for page, parsed in pages.items():
        for href in parsed.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            if parts.path.startswith("/"):  # 404.html links from the site root
                target = built_site / unquote(parts.path).lstrip("/")
                if target.is_dir():
                    target = target / "index.html"
            elif parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page
            checked += 1
            where = f"{page.relative_to(built_site)}: {href}"
            if not target.exists():
                broken.append(f"{where} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where} (no anchor #{parts.fragment})")
    print(f"checked {checked} internal links on {len(pages)} pages")
    assert len(pages) >= 22
    assert not broken, "broken internal links:\n" + "\n".join(broken[:40])


def test_concept_pages_and_tags_index_are_built(built_site: Path):
    for page in CONCEPT_PAGES:
        rel = page.relative_to(DOCS).with_suffix("")
        html = (built_site / rel / "index.html").read_text(encoding="utf-8")
        assert 'class="fg-quiz"' in html, f"{rel}: quiz not rendered"
        assert "{{" not in re.sub(r"<(code|pre)[^>]*>.*?</\1>", "", html, flags=re.DOTALL), \
            f"{rel}: an unrendered {{{{ directive }}}}"
    tags = (built_site / "tags" / "index.html").read_text(encoding="utf-8")
    for tag in ("Ch.2 Generative Models", "Ch.4 Alignment", "Foundations of Large Language Models Course",
                "Computing Sciences", "Encoders", "Prompting"):
        assert tag in tags, f"tags index lacks '{tag}'"


def test_every_shown_snippet_can_be_downloaded_as_py_and_notebook_with_the_wheel(built_site: Path):
    """Each page with a snippet offers its .py, a notebook made from it and the runtime wheel."""
    import nbformat

    from fieldguide_site.downloads import FOLDER, wheel_name

    include = re.compile(r'--8<--\s+"snippets/([\w/]+)\.py"')
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for fragment in re.findall(r'--8<--\s+"(snippets/[\w/]+\.md)"', text):
            text += (DOCS.parent / fragment).read_text(encoding="utf-8")
        names = sorted(set(include.findall(text)))
        if not names:
            continue
        rel = page.relative_to(DOCS).with_suffix("")
        html_path = built_site / (rel.parent if rel.name == "index" else rel) / "index.html"
        html = html_path.read_text(encoding="utf-8")
        for name in names:
            assert f"{FOLDER}/{name}.py" in html and f"{FOLDER}/{name}.ipynb" in html, f"{rel}: no download of {name}"
            assert f"{FOLDER}/{wheel_name()}" in html, f"{rel}: no link to the wheel"
    for script in sorted((DOCS.parent / "snippets").rglob("*.py")):
        name = script.relative_to(DOCS.parent / "snippets").with_suffix("").as_posix()
        assert (built_site / FOLDER / f"{name}.py").read_bytes() == script.read_bytes()
        notebook = nbformat.reads((built_site / FOLDER / f"{name}.ipynb").read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(notebook)
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        assert "sys.argv" in code[0]  # the flags a notebook run gets
        assert "def main" in "\n".join(code) or "main(" in "\n".join(code), name
    assert (built_site / FOLDER / wheel_name()).stat().st_size > 10_000
