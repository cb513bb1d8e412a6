"""Claims of 'Fine-Tuning as a Mechanism for Activating Pre-Trained Knowledge', at ci scale.

The claims and their bands live in ``fieldguide.claims_real_models``.
"""

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from fieldguide_site.execute import cached_check, run_snippet
from fieldguide.claims import assert_claims

SNIPPET = Path(__file__).resolve().parents[1] / "snippets" / "activating_pretrained_knowledge" / "smollm2_capitals.py"


def test_smollm2_capitals_fine_tuning_activates_known_answers():
    run = run_snippet("activating_pretrained_knowledge/smollm2_capitals")
    print({k: v["text"] for k, v in run.results["metrics"].items()})
    # Before: the bare format is rare though the knowledge is there; after the gentle recipe, a large
    # share of the latent ceiling, where it knew; the aggressive recipe damages and memorises.
    assert_claims(run)


def test_recipes_flag_takes_known_tags_and_refuses_others_before_any_work():
    def answers():
        spec = importlib.util.spec_from_file_location("smollm2_capitals", SNIPPET)
        snippet = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(snippet)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "out"
            done = subprocess.run([sys.executable, str(SNIPPET), "--recipes", "gentle,harsh", "--out", str(out)],
                                  capture_output=True, text=True, timeout=120)
            return {"parsed": snippet.recipe_list("aggressive, gentle"), "exit": done.returncode,
                    "stderr": done.stderr, "out_left": out.exists()}

    # Computed once per content of the snippet and of this check (it imports torch and peft twice).
    found = cached_check("activating_pretrained_knowledge/smollm2_capitals", answers)
    assert found["parsed"] == ["gentle", "aggressive"]  # the order of RECIPES
    errors = [line for line in found["stderr"].splitlines() if "error:" in line]
    assert found["exit"] == 2 and len(errors) == 1 and "unknown recipe(s) 'gentle,harsh'" in errors[0], found["stderr"]
    assert "Traceback" not in found["stderr"] and not found["out_left"]
