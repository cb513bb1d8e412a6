"""Claims about the site's runs, declared as data beside each snippet.

``snippets/<page_slug>/<snippet>.claims.toml`` holds one ``[[claim]]`` table per sentence its page
states about that snippet's runs:

    id         a name, unique in the file            kind       finding | sanity
    text       the sentence the page states          band       an expression over the run's metrics
    breaks_if  the outcome that would break it       published  the published figure it mirrors (optional)
    note       what was measured (optional)

A *finding* could have come out otherwise; a *sanity* check holds by construction (a parameter
count, a control over tokens pre-training never saw) and is shown apart, never counted as a result.
A band is arithmetic, comparisons, ``and``/``or``/``not`` and ``min``/``max``/``abs`` over metric
names (``results.json``) and literals, e.g. ``"full_all - words_all <= -0.1"``; it is parsed and
checked when the file loads and evaluated without ``eval``. Bands are set from the spread that
``benchmarks/claim_spread.py`` measures across seeds and CPU code paths
(``benchmarks/results/claim_spread.json``), not from one run. The tests assert the claims, the
pages show them (``{{ claim <snippet> <id> }}``), the build lists them in the claims ledger and
``claims.json``, and a reader checks their own run with ``fieldguide check <out-dir>``. The wheel
ships the files and the spread record (``fieldguide/snippet_claims/``), so that works anywhere.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from fieldguide.errors import FieldGuideError

KINDS = ("finding", "sanity")
REQUIRED = ("id", "kind", "text", "band", "breaks_if")
OPTIONAL = ("published", "note")
SUFFIX = ".claims.toml"


class ClaimsError(FieldGuideError):
    """A claims file that cannot be used: it names the file and the claim."""


# --- bands: a small expression language, parsed once, evaluated without eval --------------------

_FUNCTIONS = {"abs": abs, "min": min, "max": max}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not}


def parse_band(band: str) -> ast.expr:
    """The band's syntax tree; ValueError naming the first construct a band may not use."""
    try:
        tree = ast.parse(band, mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"band {band!r} is not an expression ({err.msg})") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, (ast.Name, ast.BoolOp, ast.And, ast.Or, ast.Compare, ast.Load))
                   or type(node) in _BINARY or type(node) in _UNARY or type(node) in _COMPARE
                   or isinstance(node, ast.BinOp) and type(node.op) in _BINARY
                   or isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY
                   or isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool))
                   or isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id in _FUNCTIONS and not node.keywords)
        if not allowed:
            raise ValueError(f"band {band!r} uses {ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__!r}: "
                             "only arithmetic, comparisons, and/or/not and min/max/abs over metric names")
    return tree


def _evaluate(node: ast.expr, values: Mapping[str, object]):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(v, values) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call):  # parse_band allowed only min/max/abs, by name
        return _FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    raise ValueError(f"cannot evaluate {ast.unparse(node)!r}")  # pragma: no cover - parse_band refused it


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    band: str
    kind: str = "finding"
    breaks_if: str = ""
    published: str = ""  # the published figure this mirrors, with its source
    note: str = ""  # what was measured when the band was set

    def names(self) -> list[str]:
        """The metrics the band reads, in order of appearance."""
        tree = parse_band(self.band)
        functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        seen: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and id(node) not in functions and node.id not in seen:
                seen.append(node.id)
        return seen

    def evaluate(self, metrics: Mapping[str, object]) -> tuple[bool, dict[str, object]]:
        """(held, the values it read); a metric the run lacks is a failed claim, not a crash."""
        values = {name: metrics.get(name) for name in self.names()}
        if any(v is None for v in values.values()):
            return False, values
        try:
            held = _evaluate(parse_band(self.band), values)
        except (TypeError, ZeroDivisionError):  # e.g. a "not reached" text where the band compares a number
            held = False
        return bool(held), values


# --- the claims files ------------------------------------------------------------------------------

def claims_folder() -> Path:
    """Where the claims files are: shipped inside the wheel, else the repository's snippets/."""
    shipped = Path(__file__).resolve().parent / "snippet_claims"
    return shipped if shipped.is_dir() else Path(__file__).resolve().parents[2] / "snippets"


def load_claims_file(path: Path) -> list[Claim]:
    """The claims of one file, validated: a problem is one ClaimsError naming the file and the claim."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ClaimsError(f"{path}: not valid TOML ({err})") from None
    if set(data) != {"claim"} or not isinstance(data["claim"], list):
        raise ClaimsError(f"{path}: expected only [[claim]] tables, found {sorted(data) or 'nothing'}")
    claims: list[Claim] = []
    for number, entry in enumerate(data["claim"], 1):
        where = f"{path}: claim {entry.get('id', f'#{number}')!r}"
        unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
        missing = [key for key in REQUIRED if key not in entry]
        if unknown or missing:
            raise ClaimsError(f"{where}: " + "; ".join(
                ([f"unknown field(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing {', '.join(missing)}"] if missing else [])))
        if not all(isinstance(entry[key], str) and (entry[key].strip() or key in OPTIONAL) for key in entry):
            raise ClaimsError(f"{where}: every field is a non-empty string")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", entry["id"]):
            raise ClaimsError(f"{where}: an id is lower-case letters, digits and _")
        if entry["kind"] not in KINDS:
            raise ClaimsError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
        if any(c.id == entry["id"] for c in claims):
            raise ClaimsError(f"{where}: duplicate id")
        try:
            parse_band(entry["band"])
        except ValueError as err:
            raise ClaimsError(f"{where}: {err}") from None
        claims.append(Claim(**entry))
    return claims


def load_claims(folder: Path) -> dict[str, list[Claim]]:
    """Every ``<page>/<snippet>.claims.toml`` under ``folder``, by snippet name (``<page>/<snippet>``)."""
    return {path.relative_to(folder).as_posix()[: -len(SUFFIX)]: load_claims_file(path)
            for path in sorted(folder.glob(f"*/*{SUFFIX}"))}


def is_lab(snippet: str) -> bool:
    """The activation lab's snippets (tiny GPTs trained from scratch) are named synthetic_*."""
    return snippet.rsplit("/", 1)[-1].startswith("synthetic_")


# Every claim the site states, by snippet; the lab's and the real checkpoints' apart.
CLAIMS: dict[str, list[Claim]] = load_claims(claims_folder())
LAB_CLAIMS = {s: c for s, c in CLAIMS.items() if is_lab(s)}
REAL_MODEL_CLAIMS = {s: c for s, c in CLAIMS.items() if not is_lab(s)}


# --- checking a run ---------------------------------------------------------------------------------

def metric_values(results: Mapping) -> dict[str, object]:
    return {key: m["value"] for key, m in results["metrics"].items()}


def check(snippet: str, results: Mapping) -> list[tuple[Claim, bool, dict[str, object]]]:
    metrics = metric_values(results)
    return [(claim, *claim.evaluate(metrics)) for claim in CLAIMS[snippet]]


def report(snippet: str, results: Mapping) -> tuple[str, list[str]]:
    """A printable report of every claim of ``snippet`` and the ids of those that failed."""
    lines, failed = [], []
    for claim, held, values in check(snippet, results):
        shown = ", ".join(f"{k}={short(v)}" for k, v in values.items())
        lines.append(f"{'held ' if held else 'FAILED'} {claim.id} ({claim.kind}): {claim.band}   [{shown}]")
        if not held:
            failed.append(claim.id)
    return "\n".join(lines), failed


def short(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else repr(value)


def assert_claims(run) -> None:
    """Print a snippet run's output and every claim with its values; fail on any claim missed."""
    print(run.stdout)
    text, failed = report(run.name, run.results)
    print(text)
    assert not failed, f"{run.name}: claims not held: {', '.join(failed)}\n{text}"


# --- the spread record: what the site has seen ---------------------------------------------------------

def spread_record_path() -> Path:
    shipped = Path(__file__).resolve().parent / "snippet_claims" / "claim_spread.json"
    return shipped if shipped.is_file() else Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "claim_spread.json"


@lru_cache(maxsize=1)
def recorded_runs() -> tuple[dict, ...]:
    """The runs ``benchmarks/claim_spread.py`` recorded (empty where the record is missing)."""
    path = spread_record_path()
    return tuple(json.loads(path.read_text())["runs"]) if path.is_file() else ()


def seen_range(snippet: str, metric: str) -> tuple[float, float, int] | None:
    """(min, max, runs) of a numeric metric over the recorded runs of ``snippet``; None if never seen."""
    numbers = [r["metrics"][metric] for r in recorded_runs() if r["snippet"] == snippet and r.get("metrics")
               and isinstance(r["metrics"].get(metric), (int, float)) and not isinstance(r["metrics"][metric], bool)]
    return (min(numbers), max(numbers), len(numbers)) if numbers else None


def recorded_conditions(snippet: str) -> list[str]:
    """'path/seed' of every recorded run of ``snippet`` whose metrics were kept, in record order."""
    return [f"{r['path']}/{r['seed']}" for r in recorded_runs() if r["snippet"] == snippet and r.get("metrics")]
