"""The claims ledger: every declared claim (``fieldguide.claims``), where its page states it,
and whether it held in this build's runs. The build renders it as a page and ``claims.json``."""

from __future__ import annotations

import re
from pathlib import Path

from fieldguide.claims import CLAIMS, check, recorded_conditions


def anchor(snippet: str, claim_id: str) -> str:
    """The HTML id of a claim's badge on its page (the ledger links to it)."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", f"{snippet}-{claim_id}".lower())


def page_of(snippet: str, docs: Path) -> str | None:
    """The docs page (relative path) whose name matches the snippet's folder."""
    slug = snippet.split("/")[0].replace("_", "-")
    found = sorted(docs.rglob(f"{slug}.md"))
    return found[0].relative_to(docs).as_posix() if found else None


def badged(docs: Path) -> set[tuple[str, str]]:
    """(snippet, claim id) of every claim a page or fragment shows with a badge."""
    text = "\n".join(p.read_text(encoding="utf-8") for folder in (docs, docs.parent / "snippets")
                     for p in folder.rglob("*.md"))
    return set(re.findall(r"\{\{\s*claim\s+([\w/.-]+)\s+([\w.-]+)\s*\}\}", text))


def ledger(page_run, docs: Path) -> list[dict]:
    """One record per declared claim, from this build's runs (fields as in claims.json); a claim
    its page shows carries the anchor of its badge, a check no sentence states has none."""
    rows, shown = [], badged(docs)
    for snippet, claims in CLAIMS.items():
        run = page_run(snippet)
        settings = run.results.get("settings", {})
        for claim, held, values in check(snippet, run.results):
            rows.append({"page": page_of(snippet, docs), "snippet": snippet,
                         "anchor": anchor(snippet, claim.id) if (snippet, claim.id) in shown else None,
                         "id": claim.id, "kind": claim.kind, "text": claim.text, "measured": values,
                         "band": claim.band, "breaks_if": claim.breaks_if, "held": held,
                         "checked_on": recorded_conditions(snippet),
                         "published": claim.published, "scale": settings.get("scale"),
                         "seeds": run.results.get("metrics", {}).get("seeds", {}).get("value", settings.get("seed")),
                         "device": run.record.get("device")})
    return rows
