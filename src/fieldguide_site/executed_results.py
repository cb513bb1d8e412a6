"""Turn result directives in a page into the numbers, tables and figures of an executed run.

Directives (each on a page, resolved at build time):

    {{ output  <snippet> }}            the snippet's printed output
    {{ table   <snippet> <table> }}    a table from its results.json
    {{ figure  <snippet> <figure> }}   a figure it saved
    {{ metric  <snippet> <metric> }}   one number, inline in prose
    {{ claim   <snippet> <claim> }}    a claim's band and that it held (fieldguide.claims);
                                       a claim that does not hold fails the build

``<snippet>`` is a path under ``snippets/`` without ``.py``. With FIELDGUIDE_EXECUTE=0
nothing runs and the page says so.
"""

from __future__ import annotations

import base64
import html
import re

from fieldguide.cli import env_flag
from fieldguide_site.execute import SnippetFailed, SnippetRun, run_snippet, snippet_path

DIRECTIVE = re.compile(r"\{\{\s*(output|table|figure|metric|claim)\s+([\w/.-]+)(?:\s+([\w.-]+))?\s*\}\}")
NOT_EXECUTED = (
    '!!! warning "Results not executed in this build"\n'
    "    This preview was built with execution switched off (`--no-exec` / "
    "`FIELDGUIDE_EXECUTE=0`). The numbers, tables and figures below are placeholders; "
    "the default build and CI execute every snippet.\n\n"
)


class DirectiveError(ValueError):
    pass


def executing() -> bool:
    return env_flag("FIELDGUIDE_EXECUTE", True)


def render(markdown: str, page_path: str) -> str:
    """Replace every directive in ``markdown``; raise DirectiveError on a bad one."""
    if not DIRECTIVE.search(markdown):
        return markdown
    run_each = executing()
    runs: dict[str, SnippetRun] = {}

    def replace(match: re.Match) -> str:
        kind, name, key = match.group(1), match.group(2), match.group(3)
        where = f"{page_path}: {match.group(0)}"
        try:
            snippet_path(name)
        except FileNotFoundError as err:
            raise DirectiveError(f"{where}: {err}") from None
        if kind != "output" and not key:
            raise DirectiveError(f"{where}: '{kind}' needs a name after the snippet")
        if not run_each:
            if kind == "claim":
                return '<span class="fg-claim fg-claim--unchecked">not checked in this build</span>'
            return "*(not executed)*" if kind == "metric" else f"\n*({kind} of `{name}` not executed in this build)*\n"
        if name not in runs:
            try:
                runs[name] = run_snippet(name)
            except SnippetFailed as err:
                raise DirectiveError(f"{where}: {err}") from None
        run = runs[name]
        return _RENDERERS[kind](run, key, where)

    rendered = DIRECTIVE.sub(replace, markdown)
    if not run_each:
        rendered = _after_title(rendered, NOT_EXECUTED)
    return rendered


def _after_title(markdown: str, block: str) -> str:
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join(lines[: i + 1] + ["", block] + lines[i + 1:])
    return block + markdown


def _output(run: SnippetRun, key, where) -> str:
    settings = run.results.get("settings", {})
    used = run.record.get("device", "?")
    title = (f"Output of snippets/{run.name}.py --scale {settings.get('scale', '?')} "
             f"--device {settings.get('device', '?')} (ran on {used}, {run.seconds:.0f} s)")
    text = run.stdout.rstrip() or "(the snippet printed nothing)"
    return f'\n```text title="{title}"\n{text}\n```\n{provenance_stamp(run)}\n'


def provenance_stamp(run: SnippetRun) -> str:
    """One quiet line under a result: when, at which commit, on what, with which versions."""
    p = run.record.get("provenance")
    if not p:
        return ""
    commit = f"commit {p['commit']}{' + local changes' if p['local_changes'] else ''}" if p["commit"] else "no git commit"
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    seeds = run.results.get("metrics", {}).get("seeds", {}).get("value", run.results.get("settings", {}).get("seed"))
    parts = [f"ran {p['date']}", commit, p["device"], f"Python {p['python']}, {versions}",
             f"{p['seconds']:.0f} s", f"peak memory {p['peak_memory_bytes'] / 2 ** 30:.1f} GiB", f"seeds {seeds}"]
    return f'<p class="fg-provenance">{html.escape(" · ".join(parts))}</p>\n'


def _lookup(run: SnippetRun, section: str, key: str, where: str) -> dict:
    found = run.results.get(section, {})
    if key not in found:
        names = ", ".join(sorted(found)) or "none"
        raise DirectiveError(f"{where}: snippet {run.name} recorded no {section[:-1]} '{key}' (it has: {names})")
    return found[key]


def _cell(text: str) -> str:
    # Escape HTML so a literal token such as <eos> shows instead of vanishing.
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _table(run: SnippetRun, key: str, where: str) -> str:
    table = _lookup(run, "tables", key, where)
    lines = ["| " + " | ".join(_cell(c) for c in table["columns"]) + " |",
             "|" + "---|" * len(table["columns"])]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table["text"]]
    caption = table.get("caption")
    source = f"executed: `snippets/{run.name}.py`"
    lines.append("")
    lines.append(f'<p class="fg-caption">{html.escape(caption) + " " if caption else ""}<em>({source})</em></p>')
    return "\n" + "\n".join(lines) + "\n"


def _figure(run: SnippetRun, key: str, where: str) -> str:
    figure = _lookup(run, "figures", key, where)
    svg = (run.out / figure["file"]).read_bytes()
    data = base64.b64encode(svg).decode()
    caption = html.escape(figure.get("caption", ""))
    return (f'\n<figure class="fg-figure"><img alt="{caption or key}" '
            f'src="data:image/svg+xml;base64,{data}"><figcaption>{caption} '
            f"<em>(executed: snippets/{run.name}.py)</em></figcaption></figure>\n")


def _metric(run: SnippetRun, key: str, where: str) -> str:
    return str(_lookup(run, "metrics", key, where)["text"])


def _claim(run: SnippetRun, key: str, where: str) -> str:
    from fieldguide.claims import CLAIMS

    found = {c.id: c for c in CLAIMS.get(run.name, [])}
    if key not in found:
        raise DirectiveError(f"{where}: snippet {run.name} declares no claim '{key}' "
                             f"(it has: {', '.join(found) or 'none'})")
    held, values = found[key].evaluate({k: m["value"] for k, m in run.results["metrics"].items()})
    if not held:
        raise DirectiveError(f"{where}: the page states claim '{key}' ({found[key].band}), but this build "
                             f"measured {values}: it does not hold")
    from fieldguide_site.claims_ledger import anchor

    band = html.escape(found[key].band)
    return (f'<span class="fg-claim" id="{anchor(run.name, key)}" title="Checked in this build against the '
            f'measured values">checked: <code>{band}</code> &#10003;</span>')


_RENDERERS = {"output": _output, "table": _table, "figure": _figure, "metric": _metric, "claim": _claim}
