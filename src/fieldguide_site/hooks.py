"""MkDocs hooks (listed in mkdocs.yml): executed results and quizzes in pages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

from fieldguide_site import downloads, executed_results, quizzes
from fieldguide_site.claims_ledger import FRAGMENT

log = logging.getLogger("mkdocs.hooks.fieldguide")


def on_config(config):
    # mkdocs-jupyter caches executed notebooks by their text alone; key its cache like a
    # snippet run (library, installed distributions, numerics), so an upgrade re-runs them.
    from fieldguide_site.execute import notebook_cache_key

    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = f".cache/mkdocs-jupyter/{notebook_cache_key()}"
        if not executed_results.executing():
            jupyter.config["execute"] = False  # --no-exec previews: notebooks show code only
    return config


def on_startup(command, dirty):
    if not executed_results.executing():
        log.info("FIELDGUIDE_EXECUTE=0: snippets are not executed; pages say so")


def on_pre_build(config):
    """Re-measuring (``dev.sh serve --execute``): every snippet run first, two at a time, so the
    pages then find their runs (one after another, each would use one thread alone)."""
    from fieldguide_site.execute import records_used, run_all
    from fieldguide_site.records import all_snippets

    if executed_results.executing() and not records_used():
        run_all(all_snippets())


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
    """Every declared claim, grouped by page, findings before sanity checks: its band, measured
    values, whether it held in this build and the recorded runs its band was checked on."""
    import html
    import posixpath

    from fieldguide_site.execute import page_run
    from fieldguide_site import claims_ledger as claims

    if not executed_results.executing():
        return "*The claims ledger is filled in by builds that execute the snippets; this one did not.*"
    rows = claims.ledger(page_run, docs)
    here = posixpath.dirname(page_path)
    findings = [r for r in rows if r["kind"] == "finding"]
    pages = sorted({r["page"] or r["snippet"] for r in rows})
    lines = [f"{sum(r['held'] for r in rows)} of {len(rows)} claims held in this build "
             f"(scale {rows[0]['scale']}, device {rows[0]['device']}).", "",
             f"**{len(findings)} findings** (results that could have come out otherwise) and "
             f"**{len(rows) - len(findings)} sanity checks** (true by construction: shown apart, never counted as "
             f"results) on {len(pages)} pages. Every band was also checked on the runs of "
             "`benchmarks/claim_spread.py` (other seeds and CPU code paths), listed per snippet as *path/seed*.", ""]
    escape = lambda text: html.escape(str(text)).replace("|", "\\|")  # noqa: E731
    for page in pages:
        mine = [r for r in rows if (r["page"] or r["snippet"]) == page]
        link = posixpath.relpath(page, here or ".") if mine[0]["page"] else None
        title = page.rsplit("/", 1)[-1].removesuffix(".md").replace("-", " ")
        lines += ["", f"### [{title}]({link})" if link else f"### {title}", ""]
        for snippet in sorted({r["snippet"] for r in mine}):
            conditions = mine[[r["snippet"] for r in mine].index(snippet)]["checked_on"]
            lines.append(f"`{snippet}.py`: bands checked on {len(conditions)} recorded runs "
                         f"({', '.join(conditions) or 'none'}).")
            lines.append("")
        for kind, heading in (("finding", "Findings"), ("sanity", "Sanity checks")):
            group = [r for r in mine if r["kind"] == kind]
            if not group:
                continue
            lines += [f"**{heading}**", "", "| claim | band and measured | held | would break if |", "|---|---|---|---|"]
            for r in group:
                target = f"{link}#{r['anchor']}" if link and r["anchor"] else None
                claim = f"[{escape(r['text'])}]({target})" if target else escape(r["text"])
                # the row's own anchor: a claim's mark on its page links here
                claim = f'<span id="{claims.anchor(r["snippet"], r["id"])}"></span>{claim}'
                measured = ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}"
                                     for k, v in r["measured"].items())
                published = f"<br>*published:* {escape(r['published'])}" if r["published"] else ""
                lines.append(f"| {claim}{published} | `{r['band']}`<br>{escape(measured)} | "
                             f"{'yes' if r['held'] else '**no**'} | {escape(r['breaks_if'])} |")
            lines.append("")
    return "\n".join(lines)


CLAIMS_JSON_FIELDS = ("page", "snippet", "id", "kind", "text", "measured", "band", "breaks_if", "held", "checked_on",
                      "published", "scale", "device")


def on_post_build(config):
    """claims.json at the site's root: every claim, its measured values and whether it held."""
    import json

    from fieldguide_site.execute import page_run
    from fieldguide_site import claims_ledger as claims

    from fieldguide.claims import CLAIMS, recorded_conditions

    docs = Path(config["docs_dir"])
    if executed_results.executing():
        rows = [{k: r[k] for k in CLAIMS_JSON_FIELDS} for r in claims.ledger(page_run, docs)]
    else:
        shown = claims.badge_pages(docs)
        rows = [{"page": claims.page_of(s, docs, c.id, shown), "snippet": s, "id": c.id, "kind": c.kind, "text": c.text,
                 "measured": None, "band": c.band, "breaks_if": c.breaks_if, "held": None,
                 "checked_on": recorded_conditions(s), "published": c.published, "scale": None, "device": None}
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
