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
from fieldguide_site.execute import SnippetFailed, SnippetRun, page_run, snippet_path

DIRECTIVE = re.compile(r"\{\{\s*(output|table|figure|metric|spread|claim)\s+([\w/.-]+)(?:\s+([\w.-]+))?\s*\}\}")
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
                return _claim_mark("&#10007;", "Not checked: this preview was built without executing the snippets.",
                                   None, page_path, unchecked=True)
            return "*(not executed)*" if kind in ("metric", "spread") else f"\n*({kind} of `{name}` not executed in this build)*\n"
        if name not in runs:
            try:
                runs[name] = page_run(name)
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
    return f'\n``` {{ .text .fg-output title="{title}" }}\n{text}\n```\n{provenance_stamp(run)}\n'


def provenance_stamp(run: SnippetRun) -> str:
    """One quiet line under a result: when, at which commit, on what, with which versions."""
    p = run.record.get("provenance")
    if not p:
        return ""
    commit = f"commit {p['commit']}{' + local changes' if p['local_changes'] else ''}" if p["commit"] else "no git commit"
    recorded = "recorded run, not re-executed by this build (results/): " if run.record.get("code_key") else ""
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    seeds = run.results.get("metrics", {}).get("seeds", {}).get("value", run.results.get("settings", {}).get("seed"))
    parts = [f"ran {p['date']}", commit, p["device"], f"Python {p['python']}, {versions}",
             f"{p['seconds']:.0f} s", f"peak memory {p['peak_memory_bytes'] / 2 ** 30:.1f} GiB", f"seeds {seeds}"]
    return f'<p class="fg-provenance">{html.escape(recorded + " · ".join(parts))}</p>\n'


def _lookup(run: SnippetRun, section: str, key: str, where: str) -> dict:
    found = run.results.get(section, {})
    if key not in found:
        names = ", ".join(sorted(found)) or "none"
        raise DirectiveError(f"{where}: snippet {run.name} recorded no {section[:-1]} '{key}' (it has: {names})")
    return found[key]


NUMERIC = re.compile(r"^[-+\u2212~<>=]?\s*[\d.,]+(?:\s*(?:%|s|ms|MB|GB|GiB|nats?|x|\u00d7))?"
                     r"(?:\s*[/(]\s*[-+]?[\d.,]+\s*%?\)?)?$")
SHORT = 20        # a cell this short never wraps (numbers, "yes", "before fine-tuning", "22 s")
CODE = re.compile(r"`([^`\n]+)`")  # `AutoModel` in a cell shows as code, as it did in Markdown
LONG = 90         # a cell longer than this shows its first lines; the full text is its title


def _cell_class(text: str) -> str:
    if NUMERIC.match(text) or text in ("-", "\u2013", "\u2014"):
        return "fg-num"
    return "fg-short" if len(text) <= SHORT else ""


def _column_width(header: str, cells: list[str]) -> int:
    """A minimum width (in ch) for a column: its header in at most two lines and its longest
    text in at most about two, so that no column is squeezed to a word per line."""
    words = max((len(w) for w in header.split()), default=1)
    width = max(words + 1, min(18, (len(header) + 1) // 2 + 4))
    text = [c for c in cells if len(c) > SHORT and not NUMERIC.match(c)]
    if text:
        width = max(width, min(30, round(max(len(c) for c in text) * 0.5) + 2))
    return width


def _inline(text: str) -> str:
    # Escape HTML so a literal token such as <eos> shows instead of vanishing.
    return CODE.sub(r"<code>\1</code>", html.escape(text, quote=False)).replace("\n", "<br>")


def _cell(text: str, tag: str = "td") -> str:
    text = str(text)
    shown = _inline(text)
    if tag == "td" and len(text) > LONG:
        full = html.escape(text.replace("\n", " "), quote=True)
        return (f'<td class="fg-long" title="{full}"><span class="fg-clamp" tabindex="0">{shown}</span></td>')
    kind = _cell_class(text) if tag == "td" else ""
    attrs = f' class="{kind}"' if kind else ""
    return f"<{tag}{attrs}>{shown}</{tag}>"


def _table(run: SnippetRun, key: str, where: str) -> str:
    """A result table as HTML in a box of its own: it scrolls inside the box when wider than the
    column; numbers never wrap, every column keeps a readable minimum width, and a very long
    text cell shows its first lines with the whole text on hover (title) or on focus/tap."""
    table = _lookup(run, "tables", key, where)
    columns = [str(c) for c in table["columns"]]
    rows = [[str(c) for c in row] for row in table["text"]]
    head = "".join(
        f'<th style="min-width: {_column_width(c, [r[i] for r in rows if i < len(r)])}ch">'
        f"{_inline(c)}</th>" for i, c in enumerate(columns))
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    caption = table.get("caption")
    source = f"executed: <code>snippets/{run.name}.py</code>"
    return (f'\n<div class="fg-table" data-snippet="{run.name}" data-table="{key}">\n<table>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n</div>\n\n"
            f'<p class="fg-caption">{html.escape(caption) + " " if caption else ""}<em>({source})</em></p>\n')


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


def like_text(shown: dict, value: float) -> str:
    """``value`` written as the run wrote this metric: a share as a percentage, a count whole, else
    with the same decimals."""
    text = str(shown["text"]).strip()
    decimals = len(re.search(r"\.(\d+)", text).group(1)) if re.search(r"\.(\d+)", text) else 0
    if text.endswith("%"):
        return f"{value * 100:.{decimals}f}%"
    if isinstance(shown["value"], int) and not isinstance(shown["value"], bool):
        return f"{value:.0f}"
    return f"{value:.{decimals}f}"


def _spread(run: SnippetRun, key: str, where: str) -> str:
    """The range a metric spans over the spread record's runs of the snippet (other seeds, hence
    other splits and label draws, and other CPU code paths): what a reader rerunning it may see."""
    from fieldguide.claims import recorded_runs, seen_range

    shown = _lookup(run, "metrics", key, where)
    seen = seen_range(run.name, key)
    if seen is None or seen[2] < 2:
        raise DirectiveError(f"{where}: the spread record (benchmarks/results/claim_spread.json) holds "
                             f"{seen[2] if seen else 'no'} run(s) of {run.name} with metric '{key}'; a range needs two")
    low, high, n = seen
    conditions = ", ".join(f"{r['path']}/{r['seed']}" for r in recorded_runs()
                           if r["snippet"] == run.name and isinstance((r.get("metrics") or {}).get(key), (int, float)))
    title = html.escape(f"range over the {n} runs of the spread record (code path/seed): {conditions}")
    return f'<span class="fg-spread" title="{title}">{like_text(shown, low)}\u2013{like_text(shown, high)}</span>'


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

    claim = found[key]
    measured = ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items())
    detail = (f"{'Finding' if claim.kind == 'finding' else 'Sanity check (true by construction)'}, held in this "
              f"build: <code>{html.escape(claim.band)}</code>; measured {html.escape(measured)}.")
    return _claim_mark("&#10003;", detail, anchor(run.name, key), where.split(": ", 1)[0], kind=claim.kind)


def _claim_mark(symbol: str, detail: str, claim_anchor: str | None, page_path: str, kind: str = "finding",
                unchecked: bool = False) -> str:
    """A small mark in the sentence; its band, values and ledger link show on hover, focus or tap."""
    import posixpath

    folder = "" if page_path.endswith("index.md") else page_path.removesuffix(".md")
    ledger = posixpath.relpath("claims", folder or posixpath.dirname(page_path) or ".") + "/"
    link = f' <a href="{ledger}#{claim_anchor}">Ledger row</a>' if claim_anchor else ""
    ident = f' id="{claim_anchor}"' if claim_anchor else ""
    state = "fg-claim--unchecked" if unchecked else f"fg-claim--{kind}"
    label = "claim not checked in this build" if unchecked else (
        "claim checked in this build" if kind == "finding" else "sanity check, held in this build")
    return (f'<span class="fg-claim {state}"{ident} tabindex="0" aria-label="{label}">{symbol}'
            f'<span class="fg-claim__detail" role="tooltip">{detail}{link}</span></span>')


_RENDERERS = {"output": _output, "table": _table, "figure": _figure, "metric": _metric, "spread": _spread,
              "claim": _claim}
