"""The declared claims (``snippets/<page>/<snippet>.claims.toml``): files validated when they
load, bands that contain the measured spread, findings apart from sanity checks, the page directive
and the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldguide_site.execute import SnippetRun, snippet_path
from fieldguide_site import executed_results
from fieldguide.claims import CLAIMS, LAB_CLAIMS, Claim, ClaimsError, check, load_claims_file, parse_band
from fieldguide_site.claims_ledger import anchor, badge_pages, badged, page_of

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
            assert claim.kind in ("finding", "sanity") and claim.breaks_if.strip(), f"{snippet}/{claim.id}"


def test_every_metric_a_band_reads_is_one_its_snippet_writes():
    """A typo in a band fails here, before any run: the names are checked against the metrics of
    the snippet's recorded spread runs."""
    runs = json.loads(RECORD.read_text())["runs"]
    unknown = []
    for snippet, claims in CLAIMS.items():
        written = set().union(*[r["metrics"] for r in runs if r["snippet"] == snippet and r["metrics"]])
        unknown += [f"{snippet}/{c.id}: {name}" for c in claims for name in c.names() if name not in written]
    assert not unknown, "bands read metrics no recorded run wrote:\n" + "\n".join(unknown)


def test_bands_contain_the_recorded_spread_across_seeds_and_cpu_code_paths():
    """Every band held on every run benchmarks/claim_spread.py recorded: none is tighter than
    the spread one machine can show (seeds and code paths), let alone another machine. The lab
    (tiny GPTs trained from scratch) has at least four runs over seeds and three code paths; every
    real-model snippet at least the suite's own run (the record and the ledger say which further
    seeds and code paths each band was checked on)."""
    runs = json.loads(RECORD.read_text())["runs"]
    missed, thin, coverage = [], [], {}
    counts = {"finding": 0, "sanity": 0}
    for snippet, claims in CLAIMS.items():
        mine = [r for r in runs if r["snippet"] == snippet and r["metrics"]]
        conditions = {(r["path"], r["seed"]) for r in mine}
        seeds = {r["seed"] for r in mine if r["path"] == "native"}
        paths = {r["path"] for r in mine}
        coverage[snippet] = f"{len(mine)} runs, native seeds {sorted(seeds)}, paths {sorted(paths)}"
        # The lab: seeds and four CPU code paths. Real models: the suite's own run at least; the record
        # says which further seeds and code paths each has (issue 22 asks three seeds and one more path).
        enough = (len(mine) >= 4 and {"native", "aten-default", "mkl-compatible"} <= paths) if snippet in LAB_CLAIMS \
            else len(conditions) >= 1
        if not enough:
            thin.append(f"{snippet}: {coverage[snippet]}")
        for run in mine:
            # A run recorded before a claim's metrics existed (an arm added since) is no evidence on it,
            # either way; each claim still needs a run that has them (the metric-name test above).
            results = {"metrics": {k: {"value": v} for k, v in run["metrics"].items()}}
            missed += [f"{snippet}/{c.id} on {run['path']} seed {run['seed']}: {values}"
                       for c, held, values in check(snippet, results)
                       if not held and set(c.names()) <= set(run["metrics"])]
        for claim in claims:
            counts[claim.kind] += 1
            if not any(set(claim.names()) <= set(run["metrics"]) for run in mine):
                thin.append(f"{snippet}/{claim.id}: no recorded run has all its metrics")
    print(f"{sum(counts.values())} claims: {counts['finding']} findings, {counts['sanity']} sanity checks; "
          f"{len(runs)} recorded runs")
    print("\n".join(f"  {s}: {c}" for s, c in coverage.items()))
    assert not thin, "spread not recorded:\n" + "\n".join(thin)
    assert not missed, "\n".join(missed)


def write_claims(tmp_path, body: str) -> Path:
    path = tmp_path / "page" / "snippet.claims.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


GOOD = '''[[claim]]
id = "rises"
kind = "finding"
text = "It rises."
band = "after - before >= 0.1"
breaks_if = "It does not rise by 0.1."
'''


@pytest.mark.parametrize("body, says", [
    (GOOD + GOOD, "claim 'rises': duplicate id"),
    (GOOD.replace("after - before", "after -"), "claim 'rises': band 'after - >= 0.1' is not an expression"),
    (GOOD.replace("after - before", "__import__('os').getcwd()"), "claim 'rises': band"),
    (GOOD.replace("after - before", "after.real"), "uses 'after.real'"),
    (GOOD.replace("after - before", "(lambda: 1)()"), "claim 'rises': band"),
    (GOOD.replace('"finding"', '"result"'), "kind 'result' is not one of finding, sanity"),
    (GOOD.replace('breaks_if = "It does not rise by 0.1."', ""), "claim 'rises': missing breaks_if"),
    (GOOD.replace('breaks_if = "It does not rise by 0.1."', 'breaks_if = " "'), "non-empty string"),
    (GOOD + 'seen = "0.2"\n', "claim 'rises': unknown field(s) seen"),
    (GOOD.replace('"rises"', '"Rises!"'), "an id is lower-case letters"),
    ("[[claim]\n", "not valid TOML"),
    ("title = 'x'\n", "expected only [[claim]] tables"),
])
def test_a_bad_claims_file_is_one_error_naming_the_file_and_the_claim(tmp_path, body, says):
    path = write_claims(tmp_path, body)
    with pytest.raises(ClaimsError) as caught:
        load_claims_file(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and says in message and "\n" not in message, message


def test_a_good_claims_file_loads_and_its_band_evaluates_without_eval(tmp_path):
    (claim,) = load_claims_file(write_claims(tmp_path, GOOD))
    assert claim.evaluate({"after": 0.5, "before": 0.2}) == (True, {"after": 0.5, "before": 0.2})
    assert claim.evaluate({"after": 0.25, "before": 0.2})[0] is False
    band = Claim("x", "t", 'min(a, b) > abs(-c) and not d or e == "named"')
    assert band.evaluate({"a": 2, "b": 3, "c": 1, "d": False, "e": "x"})[0] is True
    assert band.evaluate({"a": 2, "b": 3, "c": 1, "d": True, "e": "named"})[0] is True
    assert band.evaluate({"a": 2, "b": 3, "c": 1, "d": True, "e": "other"})[0] is False
    assert Claim("y", "t", "0 < a <= 1 < b").evaluate({"a": 1, "b": 2})[0] is True
    assert Claim("z", "t", "flag is True").evaluate({"flag": True})[0] is True
    with pytest.raises(ValueError):
        parse_band("a if b else c")


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
    monkeypatch.setattr(executed_results, "page_run", lambda n: fake_run(n, {"after": 0.8}))
    html = executed_results.render(page, "t.md")
    assert 'class="fg-claim fg-claim--finding"' in html and "after &gt;= 0.5" in html and 'href="../claims/#' in html
    monkeypatch.setattr(executed_results, "page_run", lambda n: fake_run(n, {"after": 0.3}))
    with pytest.raises(executed_results.DirectiveError, match="does not hold"):
        executed_results.render(page, "t.md")
    with pytest.raises(executed_results.DirectiveError, match="declares no claim"):
        executed_results.render(f"{{{{ claim {name} no_such_claim }}}}", "t.md")
    monkeypatch.setenv("FIELDGUIDE_EXECUTE", "0")
    assert "not checked in this build" in executed_results.render(page, "t.md")


def test_the_spread_directive_shows_the_recorded_range_written_as_the_run_writes_it(monkeypatch):
    from fieldguide import claims

    name = "activating_pretrained_knowledge/smollm2_capitals"
    runs = ({"snippet": name, "path": "native", "seed": 0, "metrics": {"gentle_exact": 36, "kept": 0.957}},
            {"snippet": name, "path": "native", "seed": 2, "metrics": {"gentle_exact": 17, "kept": 0.844}},
            {"snippet": "other/snippet", "path": "native", "seed": 4, "metrics": {"gentle_exact": 99}})
    monkeypatch.setattr(claims, "recorded_runs", lambda: runs)
    run = SnippetRun(name=name, out=Path("."), stdout="", seconds=1.0, cached=True, results={"metrics": {
        "gentle_exact": {"value": 36, "text": "36"}, "kept": {"value": 0.957, "text": "95.7%"},
        "once": {"value": 3, "text": "3"}}})
    monkeypatch.setattr(executed_results, "page_run", lambda n: run)
    html = executed_results.render(f"{{{{ spread {name} gentle_exact }}}} and {{{{ spread {name} kept }}}}", "t.md")
    assert ">17\u201336</span>" in html and ">84.4%\u201395.7%</span>" in html, html
    assert "native/0, native/2" in html and "native/4" not in html
    with pytest.raises(executed_results.DirectiveError, match="a range needs two"):
        executed_results.render(f"{{{{ spread {name} once }}}}", "t.md")


def test_the_built_site_has_a_ledger_and_claims_json_with_every_claim_held(built_site):
    records = json.loads((built_site / "claims.json").read_text())
    declared = sum(len(c) for c in CLAIMS.values())
    assert len(records) == declared
    for record in records:
        assert set(record) >= {"page", "snippet", "id", "kind", "text", "measured", "band", "breaks_if", "held",
                               "checked_on", "published", "scale", "device"}
        assert len(record["checked_on"]) >= 1, record  # the suite's own run at least (see the spread test)
        assert record["held"] is True, record
        assert record["page"] and (built_site / record["page"].replace(".md", "/index.html")).is_file(), record
        assert record["scale"] == "ci" and record["device"]
    ledger = (built_site / "claims" / "index.html").read_text(encoding="utf-8")
    assert f"{declared} of {declared} claims held in this build" in ledger
    # Each claim a page shows carries a badge with the anchor the ledger links to.
    docs = Path(__file__).resolve().parents[1] / "docs"
    shown = badge_pages(docs)
    assert len(shown) >= 0.9 * declared, f"only {len(shown)} of {declared} claims are shown on a page"
    for snippet, claim_id in shown:
        home = page_of(snippet, docs, claim_id, shown)
        assert home in shown[snippet, claim_id], (snippet, claim_id, home)
        page = (built_site / home.replace(".md", "/index.html")).read_text(encoding="utf-8")
        assert f'id="{anchor(snippet, claim_id)}"' in page, (snippet, claim_id)
        assert f'#{anchor(snippet, claim_id)}"' in ledger, (snippet, claim_id)


def test_a_claim_belongs_to_the_page_that_shows_it_concept_page_first(tmp_path):
    """The ledger links a claim to its concept page, or to the subpage (a folder of the concept
    page's name) that shows it when the concept page does not; the home page only as a last resort."""
    docs, fragments = tmp_path / "docs", tmp_path / "snippets" / "x_y"
    (docs / "llms" / "x-y").mkdir(parents=True)
    fragments.mkdir(parents=True)
    (docs / "llms" / "x-y.md").write_text("{{ claim x_y/a one }}\n")
    (docs / "llms" / "x-y" / "lab.md").write_text('Intro.\n\n--8<-- "snippets/x_y/lab.md"\n')
    (fragments / "lab.md").write_text("{{ claim x_y/lab two }} and {{ claim x_y/a one }}\n")
    (docs / "index.md").write_text("{{ claim x_y/lab two }} {{ claim x_y/a three }}\n")
    shown = badge_pages(docs)
    assert sorted(shown[("x_y/a", "one")]) == ["llms/x-y.md", "llms/x-y/lab.md"]
    assert page_of("x_y/a", docs, "one", shown) == "llms/x-y.md"
    assert page_of("x_y/lab", docs, "two", shown) == "llms/x-y/lab.md"  # through the fragment, before the home page
    assert page_of("x_y/a", docs, "three", shown) == "index.md"
    assert page_of("x_y/a", docs, "four", shown) == page_of("x_y/a", docs) == "llms/x-y.md"  # shown nowhere


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
