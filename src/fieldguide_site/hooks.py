"""MkDocs hooks (listed in mkdocs.yml): executed results and quizzes in pages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

from fieldguide_site import downloads, executed_results, quizzes

log = logging.getLogger("mkdocs.hooks.fieldguide")


def on_config(config):
    # mkdocs-jupyter caches executed notebooks by their text alone; key its cache by the
    # library too, so a notebook re-runs when the code it imports changes.
    from fieldguide_site.execute import library_digest

    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = f".cache/mkdocs-jupyter/{library_digest()[:16]}"
        if not executed_results.executing():
            jupyter.config["execute"] = False  # --no-exec previews: notebooks show code only
    return config


def on_startup(command, dirty):
    if not executed_results.executing():
        log.info("FIELDGUIDE_EXECUTE=0: snippets are not executed; pages say so")


FRAGMENT = re.compile(r'^--8<-- "([\w/.-]+\.md)"\s*$', re.MULTILINE)
REPO = Path(__file__).resolve().parents[2]


def expand_fragments(markdown: str, page_path: str) -> str:
    """Inline ``--8<-- "snippets/<page>/<name>.md"`` fragments before directives are read.

    A snippet's page section can live beside the snippet as a Markdown fragment; its
    result directives must be rendered too, so fragments are expanded here rather than
    by pymdownx.snippets (which runs later, after this hook).
    """
    def inline(match: re.Match) -> str:
        path = REPO / match.group(1)
        if not path.is_file():
            raise PluginError(f"{page_path}: included fragment {match.group(1)} does not exist")
        return path.read_text(encoding="utf-8")

    return FRAGMENT.sub(inline, markdown)


LEDGER = re.compile(r"^\{\{\s*claims_ledger\s*\}\}\s*$", re.MULTILINE)


def claims_ledger_markdown(docs: Path, page_path: str) -> str:
    """Every declared claim with its measured values, band and whether it held in this build."""
    import html
    import posixpath

    from fieldguide_site.execute import run_snippet
    from fieldguide_site import claims_ledger as claims

    if not executed_results.executing():
        return "*The claims ledger is filled in by builds that execute the snippets; this one did not.*"
    rows = claims.ledger(run_snippet, docs)
    here = posixpath.dirname(page_path)
    lines = [f"{sum(r['held'] for r in rows)} of {len(rows)} claims held in this build "
             f"(scale {rows[0]['scale']}, device {rows[0]['device']}).", "",
             "| page | claim | measured | band | held | published figure |", "|---|---|---|---|---|---|"]
    for r in rows:
        link = posixpath.relpath(r["page"], here or ".") if r["page"] else None
        target = f"{link}#{r['anchor']}" if r["anchor"] else link
        page = f"[{r['page'].rsplit('/', 1)[-1].removesuffix('.md')}]({target})" if link else r["snippet"]
        measured = ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in r["measured"].items())
        cells = [page, r["text"], measured, f"`{r['band']}`", "yes" if r["held"] else "**no**", r["published"]]
        lines.append("| " + " | ".join(c if i in (0, 3) else html.escape(str(c)).replace("|", "\\|")
                                        for i, c in enumerate(cells)) + " |")
    return "\n".join(lines)


def on_post_build(config):
    """claims.json at the site's root: every claim, its measured values and whether it held."""
    import json

    from fieldguide_site.execute import run_snippet
    from fieldguide_site import claims_ledger as claims

    from fieldguide.claims import CLAIMS

    docs = Path(config["docs_dir"])
    if executed_results.executing():
        rows = [{k: r[k] for k in ("page", "id", "text", "measured", "band", "held", "published", "scale", "device")}
                for r in claims.ledger(run_snippet, docs)]
    else:
        rows = [{"page": claims.page_of(s, docs), "id": c.id, "text": c.text, "measured": None, "band": c.band,
                 "held": None, "published": c.published, "scale": None, "device": None}
                for s, cs in CLAIMS.items() for c in cs]
    (Path(config["site_dir"]) / "claims.json").write_text(json.dumps(rows, indent=1))
    downloads.write(Path(config["site_dir"]))  # every snippet as .py and .ipynb, and the wheel


def on_page_markdown(markdown, page, config, files):
    markdown = expand_fragments(markdown, page.file.src_uri)
    if LEDGER.search(markdown):
        markdown = LEDGER.sub(lambda m: claims_ledger_markdown(Path(config["docs_dir"]), page.file.src_uri), markdown)
    try:
        markdown = quizzes.render(markdown, page.file.src_uri, Path(config["docs_dir"]))
    except quizzes.QuizError as err:
        raise PluginError(str(err)) from None
    markdown = downloads.render(markdown, page.file.src_uri)
    try:
        return executed_results.render(markdown, page.file.src_uri)
    except executed_results.DirectiveError as err:
        raise PluginError(str(err)) from None
