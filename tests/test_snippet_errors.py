"""Every snippet meets bad input with one clear `error:` line and exit 2, before any work,
with nothing written to --out, never a traceback; and answers --help with the contract.

One process per snippet (tests/snippet_cli_harness.py) runs --help and every bad input that
applies to it, so the imports are paid once and the whole check stays fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

from fieldguide_site.execute import cached_check

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(REPO / "snippets").with_suffix("").as_posix()
                  for p in (REPO / "snippets").rglob("*.py") if "__pycache__" not in p.parts)
HARNESS = REPO / "tests" / "snippet_cli_harness.py"
EXPECTED = {  # what the error line must say
    "bad --scale": "invalid choice: 'huge'",
    "bad --seed": "--seed must be a whole number, not 'zero'",
    "negative --seed": "--seed must be between 0 and 4294967295, not -1",
    "--seed past 32 bits": "--seed must be between 0 and 4294967295, not 99999999999",
    "--device cuda without a GPU": "no CUDA GPU is available",
    "--out is a file": "is a file, not a folder",
    "--out under a file": "cannot be created",
    "unknown --model": "unknown model 'smollm9'",
    "missing --model folder": "does not exist",
    "hub id while offline": "SomeOrg/not-a-cached-model",  # HF_HUB_OFFLINE=1 (the suite is offline)
    "--sources without the runs": "lacks the run of",
    # --data (fieldguide.user_data): the error names the file, the line where one is at fault, and what is wrong
    "missing --data file": "does not exist",
    "empty --data file": "is empty",
    "--data with an unknown extension": "unknown extension '.txt'",
    "undecodable bytes in --data": "not UTF-8 text",
    "empty field in --data": ", line 3: empty '",
    "--data CSV lacks a column": ", line 1: missing column '",
    "--data JSONL line lacks a key": ", line 2: missing '",
    "--data line not JSON": ", line 2: not valid JSON",
    "--data label too rare to split": "line 5: label 'positive' has 2 examples, too few to split",
    "--data JSONL line lacks 'task'": ", line 2: missing 'task'",
    "--data with one task only": "only one task ('plural')",
    "--data trained task with one example": ", line 1: task 'plural' is fine-tuned on and has 1 example",
}

# Refused while the flags are parsed, before run_main starts: --out must not even exist. (Other
# errors may leave an empty --out folder a snippet made before loading its model, never a file.)
REFUSED_BY_THE_PARSER = {"bad --scale", "bad --seed", "negative --seed", "--seed past 32 bits"}


def _harness(name: str) -> tuple[str, dict]:
    def answers():
        result = subprocess.run([sys.executable, str(HARNESS), str(REPO / "snippets" / f"{name}.py")], cwd=REPO,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"harness failed on {name}: {result.stderr[-2000:]}"
        return json.loads(result.stdout.strip().splitlines()[-1])

    # Computed once per content of the snippet, the library it imports and the harness.
    return name, cached_check(name, answers, HARNESS.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def all_results() -> dict[str, dict]:
    # Two at a time: each process is mostly imports, not compute.
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(_harness, SNIPPETS))


@pytest.mark.parametrize("name", SNIPPETS)
def test_help_shows_the_standard_flags_and_the_presets(name):
    shown = all_results()[name]["help"]
    assert shown["exit"] == 0 and not shown["traceback"], shown["stderr"][-800:]
    for flag in ("--device", "--scale", "--out", "--seed"):
        assert flag in shown["stdout"], f"{name} --help lacks {flag}"
    assert "ci:" in shown["stdout"] and "gpu:" in shown["stdout"], f"{name} --help shows no scale presets"


@pytest.mark.parametrize("name", SNIPPETS)
def test_bad_input_is_one_error_line_exit_2_nothing_written(name):
    import torch

    cases = all_results()[name]["cases"]
    if torch.cuda.is_available():
        cases.pop("--device cuda without a GPU")
    problems = []
    for case, result in cases.items():
        lines = [line for line in result["stderr"].splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line]
        if result["traceback"] or "Traceback" in result["stderr"]:
            problems.append(f"{case}: traceback\n{(result['traceback'] or result['stderr'])[-600:]}")
        elif result["exit"] != 2:
            problems.append(f"{case}: exit {result['exit']}, stderr {lines[-3:]}")
        elif len(errors) != 1 or EXPECTED[case] not in errors[0]:
            problems.append(f"{case}: expected one error line with {EXPECTED[case]!r}, got {lines[-3:]}")
        elif case in REFUSED_BY_THE_PARSER and result["out_left"] is not None:
            problems.append(f"{case}: --out was created (holding {result['out_left']})")
        elif result["out_left"]:
            problems.append(f"{case}: --out holds {result['out_left']}")
        elif result.get("data_file") and result["data_file"] not in errors[0]:
            problems.append(f"{case}: the error does not name the file {result['data_file']}: {errors[0]}")
        else:
            print(f"{case}: {errors[0]}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


LOADS_A_MODEL = ("load_encoder(", "load_causal_lm(", "model_folder(", "from_pretrained(")


def loads_a_model_by_name(name: str) -> bool:
    """Loads a real model, not one a run of another snippet saved (those take --run DIR)."""
    source = (REPO / "snippets" / f"{name}.py").read_text(encoding="utf-8")
    return any(call in source for call in LOADS_A_MODEL) and '"--run"' not in source


@pytest.mark.parametrize("name", [n for n in SNIPPETS if loads_a_model_by_name(n)])
def test_a_snippet_that_loads_a_real_model_takes_model(name):
    assert "--model" in all_results()[name]["help"]["stdout"], f"{name} loads a model but has no --model"


DATA_SNIPPETS = {  # snippet: the kind of --data file it reads (a test of the list, not of the harness)
    "activating_pretrained_knowledge/smollm2_capitals": "knowledge",
    "freezing_encoder_parameters/frozen_encoder_linear_head": "classification",
    "discarding_pretraining_head/new_head_full_fine_tuning": "classification",
    "fine_tuning_sequence_encoding_models/lora_encoder": "classification",
    "transfer_knowledge_to_downstream_tasks/random_init_control": "classification",
    "fine_tuning_pretrained_models_downstream/gentle_vs_harsh": "classification",
    "fine_tuning_standard_adaptation_llms/sft_full_vs_lora": "sft",
    "llm_alignment/dpo_concise": "preferences",
    "prompting_language_models/smollm2_zero_few_shot": "classification",
    "textual_instructions_task_adaptation/instruction_generalisation": "tasks",
    "applications_of_ptms/one_encoder_many_uses": "classification",
    "downstream_task_and_architecture/heads_on_one_body": "classification",
    "scope_of_introductory_fine_tuning/what_gets_trained": "classification",
    "necessity_of_fine_tuning/frozen_vs_finetuned": "classification",
    "efficiency_of_prompting/prompt_vs_trained_head": "classification",
    "fine_tuning_strategies/strategies_on_one_task": "classification",
    "llm_alignment/reward_model_length_bias": "preferences",
    "fine_tuning_strategies/sft_scale_out": "sft",
    "llm_alignment/token_shift_probe": "sft",
}


def test_every_snippet_with_a_data_flag_is_listed():
    shown = {name for name in SNIPPETS if all_results()[name].get("data_kind")}
    assert shown == set(DATA_SNIPPETS), f"--data shown but not listed: {sorted(shown - set(DATA_SNIPPETS))}; " \
                                        f"listed but not shown: {sorted(set(DATA_SNIPPETS) - shown)}"


@pytest.mark.parametrize("name", sorted(DATA_SNIPPETS))
def test_data_flag_shows_its_format_and_gets_the_bad_data_cases(name):
    result = all_results()[name]
    assert result["data_kind"] == DATA_SNIPPETS[name], f"{name} --help shows no --data format of {DATA_SNIPPETS[name]}"
    assert any(case.startswith(("missing --data", "empty --data")) for case in result["cases"])
