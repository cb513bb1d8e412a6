"""Claims of 'Evaluating a Researcher's Conclusion on Model Training', at ci scale
(bands: fieldguide.claims, set from the spread recorded by benchmarks/claim_spread.py)."""

import importlib.util
import json
from pathlib import Path

from fieldguide_site.execute import run_snippet, snippet_path
from fieldguide.claims import assert_claims

REPO = Path(__file__).resolve().parents[1]


def test_synthetic_data_size_format_first_knowledge_from_pretraining():
    run = run_snippet("evaluating_researchers_conclusion/synthetic_data_size")
    assert_claims(run)
    # The table the page shows is the curve the claims read: sizes in order, 0 first.
    rows = run.table("data_size")
    sizes = [row["fine-tuning examples"] for row in rows]
    assert sizes[0] == 0 and sizes == sorted(sizes) and sizes[-1] == run.metric("full_n")
    # A right answer is a well-formed one: knowledge can never exceed format.
    for row in rows:
        for who in ("", "absent "):
            for recipe in ("full fine-tuning", "question words only"):
                assert row[f"{recipe}: {who}knowledge"] <= row[f"{recipe}: {who}format"] + 1e-9, row


def test_data_size_learning_rates_are_the_ones_the_selection_chose():
    """PRESETS use what benchmarks/data_size_lr.py chose on left-out fine-tuning-half people."""
    record = json.loads((REPO / "benchmarks" / "results" / "data_size_lr.json").read_text())
    spec = importlib.util.spec_from_file_location(
        "synthetic_data_size", snippet_path("evaluating_researchers_conclusion/synthetic_data_size"))
    snippet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snippet)
    assert snippet.PRESETS["ci"]["lr"] == record["chosen"]
    # Same grid size for every recipe, and each chosen value is inside its grid, not at an edge.
    assert len({len(grid) for grid in record["grids"].values()}) == 1
    for recipe, grid in record["grids"].items():
        assert grid[0] < record["chosen"][recipe] < grid[-1], (recipe, grid, record["chosen"][recipe])
