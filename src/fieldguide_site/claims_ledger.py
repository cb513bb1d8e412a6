"""The claims ledger: every declared claim (``fieldguide.claims``), where its page states it,
and whether it held in this build's runs. The build renders it as a page and ``claims.json``."""

from __future__ import annotations

import re
from pathlib import Path

from fieldguide.claims import CLAIMS, check, recorded_conditions


def anchor(snippet: str, claim_id: str) -> str:
    """The HTML id of a claim's badge on its page (the ledger links to it)."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", f"{snippet}-{claim_id}".lower())


# A page's include of a snippet's Markdown fragment (expanded by the build's hooks).
FRAGMENT = re.compile(r'^--8<-- "([\w/.-]+\.md)"\s*$', re.MULTILINE)
CLAIM_BADGE = re.compile(r"\{\{\s*claim\s+([\w/.-]+)\s+([\w.-]+)\s*\}\}")


def badge_pages(docs: Path) -> dict[tuple[str, str], list[str]]:
    """(snippet, claim id) -> the docs pages (relative paths) that show its badge, in their
    own text or in a fragment they include."""
    found: dict[tuple[str, str], list[str]] = {}
    for page in sorted(docs.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        text += "".join((docs.parent / f).read_text(encoding="utf-8") for f in FRAGMENT.findall(text)
                        if (docs.parent / f).is_file())
        for key in sorted(set(CLAIM_BADGE.findall(text))):
            found.setdefault(key, []).append(page.relative_to(docs).as_posix())
    return found


def page_of(snippet: str, docs: Path, claim_id: str | None = None,
            shown: dict[tuple[str, str], list[str]] | None = None) -> str | None:
    """The docs page (relative path) a claim belongs to. The concept page is the one named after
    the snippet's folder; a long one splits into subpages in a folder of its name
    (``llms/activating-pretrained-knowledge/controlled-world.md``). Of the pages showing the
    claim's badge: the concept page, else one of its subpages, else another page (the home page
    last). A claim no page shows, or no ``claim_id``: the concept page."""
    slug = snippet.split("/")[0].replace("_", "-")
    found = sorted(docs.rglob(f"{slug}.md"))
    concept = found[0].relative_to(docs).as_posix() if found else None
    pages = (shown if shown is not None else badge_pages(docs)).get((snippet, claim_id), []) if claim_id else []
    if not pages or concept in pages:
        return concept
    subpages = [p for p in pages if concept and p.startswith(concept.removesuffix(".md") + "/")]
    return (subpages or [p for p in pages if p != "index.md"] or pages)[0]


def badged(docs: Path) -> set[tuple[str, str]]:
    """(snippet, claim id) of every claim a page shows with a badge (its own or a fragment's)."""
    return set(badge_pages(docs))


def ledger(page_run, docs: Path) -> list[dict]:
    """One record per declared claim, from this build's runs (fields as in claims.json); a claim
    its page shows carries the anchor of its badge, a check no sentence states has none."""
    rows, shown = [], badge_pages(docs)
    for snippet, claims in CLAIMS.items():
        run = page_run(snippet)
        settings = run.results.get("settings", {})
        for claim, held, values in check(snippet, run.results):
            rows.append({"page": page_of(snippet, docs, claim.id, shown), "snippet": snippet,
                         "anchor": anchor(snippet, claim.id) if (snippet, claim.id) in shown else None,
                         "id": claim.id, "kind": claim.kind, "text": claim.text, "measured": values,
                         "band": claim.band, "breaks_if": claim.breaks_if, "held": held,
                         "checked_on": recorded_conditions(snippet),
                         "published": claim.published, "scale": settings.get("scale"),
                         "seeds": run.results.get("metrics", {}).get("seeds", {}).get("value", settings.get("seed")),
                         "device": run.record.get("device")})
    return rows
