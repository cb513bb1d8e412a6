"""The declared claims: bands that contain the measured spread, and the page directive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldguide_site.execute import SnippetRun, snippet_path
from fieldguide_site import executed_results
from fieldguide.claims import CLAIMS, LAB_CLAIMS, Claim, check
from fieldguide_site.claims_ledger import anchor, badged, page_of

RECORD = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "claim_spread.json"


def test_every_badge_names_a_declared_claim():
    declared = {(s, c.id) for s, cs in CLAIMS.items() for c in cs}
    shown = badged(Path(__file__).resolve().parents[1] / "docs")
    assert shown <= declared, f"badges of undeclared claims: {sorted(shown - declared)}"


def test_every_claim_belongs_to_a_snippet_and_reads_metrics():
    for snippet, claims in CLAIMS.items():
        snippet_path(snippet)
        assert len({c.id for c in claims}) == len(claims), f"{snippet}: duplicate claim ids"
        for claim in claims:
            assert claim.names(), f"{snippet}/{claim.id} reads no metric"


def test_bands_contain_the_recorded_spread_across_seeds_and_cpu_code_paths():
    """Every band held on every run benchmarks/claim_spread.py recorded: none is tighter than
    the spread one machine can show (seeds and code paths), let alone another machine."""
    runs = json.loads(RECORD.read_text())["runs"]
    paths = {r["path"] for r in runs}
    assert {"native", "aten-default", "mkl-compatible"} <= paths
    missed = []
    for snippet in LAB_CLAIMS:
        mine = [r for r in runs if r["snippet"] == snippet and r["metrics"]]
        assert len(mine) >= 4, f"{snippet}: only {len(mine)} recorded runs"
        for run in mine:
            results = {"metrics": {k: {"value": v} for k, v in run["metrics"].items()}}
            missed += [f"{snippet}/{c.id} on {run['path']} seed {run['seed']}: {values}"
                       for c, held, values in check(snippet, results) if not held]
    assert not missed, "\n".join(missed)


def test_a_claim_without_its_metric_fails_instead_of_crashing():
    claim = Claim("x", "text", "a - b >= 0.1")
    assert claim.evaluate({"a": 0.5, "b": 0.2}) == (True, {"a": 0.5, "b": 0.2})
    assert claim.evaluate({"a": 0.5})[0] is False
    assert Claim("y", "text", "n <= 10").evaluate({"n": "not reached"})[0] is False


def fake_run(name, metrics):
    return SnippetRun(name=name, out=Path("."), stdout="", seconds=1.0, cached=True,
                      results={"metrics": {k: {"value": v, "text": str(v)} for k, v in metrics.items()}})


def test_the_claim_directive_shows_the_band_and_fails_the_build_when_a_claim_does_not_hold(monkeypatch):
    name = "activating_pretrained_knowledge/synthetic_translation"
    page = f"# T\n\nIt translates. {{{{ claim {name} unlocks_heldout_pairs }}}}\n"
    monkeypatch.setattr(executed_results, "run_snippet", lambda n: fake_run(n, {"after": 0.8}))
    html = executed_results.render(page, "t.md")
    assert 'class="fg-claim"' in html and "after &gt;= 0.5" in html
    monkeypatch.setattr(executed_results, "run_snippet", lambda n: fake_run(n, {"after": 0.3}))
    with pytest.raises(executed_results.DirectiveError, match="does not hold"):
        executed_results.render(page, "t.md")
    with pytest.raises(executed_results.DirectiveError, match="declares no claim"):
        executed_results.render(f"{{{{ claim {name} no_such_claim }}}}", "t.md")
    monkeypatch.setenv("FIELDGUIDE_EXECUTE", "0")
    assert "not checked in this build" in executed_results.render(page, "t.md")


def test_the_built_site_has_a_ledger_and_claims_json_with_every_claim_held(built_site):
    records = json.loads((built_site / "claims.json").read_text())
    declared = sum(len(c) for c in CLAIMS.values())
    assert len(records) == declared
    for record in records:
        assert set(record) >= {"page", "id", "text", "measured", "band", "held", "published", "scale", "device"}
        assert record["held"] is True, record
        assert record["page"] and (built_site / record["page"].replace(".md", "/index.html")).is_file(), record
        assert record["scale"] == "ci" and record["device"]
    ledger = (built_site / "claims" / "index.html").read_text(encoding="utf-8")
    assert f"{declared} of {declared} claims held in this build" in ledger
    # Each claim a page shows carries a badge with the anchor the ledger links to.
    docs = Path(__file__).resolve().parents[1] / "docs"
    shown = badged(docs)
    assert len(shown) >= 0.9 * declared, f"only {len(shown)} of {declared} claims are shown on a page"
    for snippet, claim_id in shown:
        page = (built_site / page_of(snippet, docs).replace(".md", "/index.html")).read_text(encoding="utf-8")
        assert f'id="{anchor(snippet, claim_id)}"' in page, (snippet, claim_id)
        assert f'#{anchor(snippet, claim_id)}"' in ledger, (snippet, claim_id)


def test_every_concept_page_shows_at_least_one_checked_claim(built_site):
    """Issue 13: each of the seed's concept pages carries a claim badge (its own or a fragment's)."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    pages = sorted(p.relative_to(docs).as_posix() for folder in ("foundations", "encoders", "llms", "prompting",
                                                                 "alignment") for p in (docs / folder).glob("*.md"))
    assert len(pages) == 20, pages
    counts = {}
    for page in pages:
        html = (built_site / page.replace(".md", "/index.html")).read_text(encoding="utf-8")
        counts[page] = html.count('class="fg-claim')
    print("claim badges per concept page:", json.dumps(counts, indent=1))
    assert all(counts.values()), [p for p, n in counts.items() if not n]
