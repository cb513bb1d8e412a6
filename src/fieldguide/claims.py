"""Claims about the site's runs, declared once: the tests assert them, the pages show them
(``{{ claim <snippet> <id> }}``), the build lists them in the claims ledger and claims.json
(``fieldguide_site.claims_ledger``), the spread benchmark evaluates the activation lab's on every
seed and CPU code path it runs, and a reader checks their own run against them with
``python -m fieldguide check <out-dir>``.

A claim is an id, the sentence the page states, and its band: a Python expression over the
snippet's metrics (``results.json``), e.g. ``"full_all - words_all <= -0.1"``. Bands are set
from the measured spread (``benchmarks/claim_spread.py``, recorded in
``benchmarks/results/claim_spread.json``), not from one machine's trajectory.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    band: str
    published: str = ""  # the published figure this mirrors, with its source

    def names(self) -> list[str]:
        """The metrics the band reads, in order of appearance."""
        seen: list[str] = []
        for node in ast.walk(ast.parse(self.band, mode="eval")):
            if isinstance(node, ast.Name) and node.id not in _FUNCTIONS and node.id not in seen:
                seen.append(node.id)
        return seen

    def evaluate(self, metrics: Mapping[str, object]) -> tuple[bool, dict[str, object]]:
        """(held, the values it read); a metric the run lacks is a failed claim, not a crash."""
        values = {name: metrics.get(name) for name in self.names()}
        if any(v is None for v in values.values()):
            return False, values
        try:
            held = eval(compile(self.band, f"<claim {self.id}>", "eval"), {"__builtins__": {}, **_FUNCTIONS}, values)
        except TypeError:  # e.g. a "not reached" text where the band compares a number
            held = False
        return bool(held), values


_FUNCTIONS = {"abs": abs, "min": min, "max": max}


def metric_values(results: Mapping) -> dict[str, object]:
    return {key: m["value"] for key, m in results["metrics"].items()}


def check(snippet: str, results: Mapping) -> list[tuple[Claim, bool, dict[str, object]]]:
    metrics = metric_values(results)
    return [(claim, *claim.evaluate(metrics)) for claim in CLAIMS[snippet]]


def report(snippet: str, results: Mapping) -> tuple[str, list[str]]:
    """A printable report of every claim of ``snippet`` and the ids of those that failed."""
    lines, failed = [], []
    for claim, held, values in check(snippet, results):
        shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        lines.append(f"{'held ' if held else 'FAILED'} {claim.id}: {claim.band}   [{shown}]")
        if not held:
            failed.append(claim.id)
    return "\n".join(lines), failed


def _short(value):
    return f"{value:.3f}" if isinstance(value, float) else repr(value)


C = Claim
# Bands: wider than the spread measured over seeds 0-5 and four CPU code paths (native, torch's
# generic and AVX2 kernels, MKL_CBWR=COMPATIBLE); benchmarks/results/claim_spread.json holds the
# values, the comments the range seen.
LAB_CLAIMS: dict[str, list[Claim]] = {
    "activating_pretrained_knowledge/synthetic_bios_activation": [
        C("no_answers_before", "Before fine-tuning the question format is new: no answers at all.",
          "before_heldout_max <= 0.02"),  # seen 0.000
        C("fits_its_half", "Pre-trained + QA fine-tuning fits the half it was fine-tuned on.",
          "pretrained_tuned_min >= 0.95"),  # seen 1.000
        C("answers_heldout", "It answers most questions about the held-out half, on every seed.",
          "pretrained_heldout_min >= 0.5"),  # seen 0.676-0.800
        C("random_init_at_chance", "Random init + the same fine-tuning stays near the majority baseline.",
          "random_heldout <= max(majority, 1 / 30) + 0.05"),  # seen 0.028-0.054 (majority 0.026-0.028)
        C("pretrained_far_above_random", "Pre-training, not fine-tuning, supplies the answers.",
          "pretrained_heldout_min - random_heldout >= 0.4"),  # seen 0.62-0.77
        C("absent_at_chance", "People never in pre-training stay near chance.",
          "pretrained_absent_max <= 0.10"),  # seen 0.028-0.048
    ],
    "activating_pretrained_knowledge/synthetic_extractability": [
        C("both_memorise", "Both pre-trainings store the facts (biography recall).",
          "min(single_memorised_min, augmented_memorised_min) >= 0.9"),  # seen 0.952-1.000
        C("both_fit", "Both fit the fine-tuned half.",
          "min(single_tuned_min, augmented_tuned_min) >= 0.9"),  # seen 0.996-1.000
        C("single_not_extractable", "One biography per person: held-out answers stay low.",
          "single_extracted_max <= 0.25"),  # seen 0.084-0.148
        C("augmented_extractable", "Rephrased biographies: held-out answers far above the single arm.",
          "augmented_extracted_min - single_extracted_max >= 0.3",
          "96.6 % (multi5 + permute) vs 9.7 % (bioS single), N = 100,000 people: Allen-Zhu & Li, arXiv 2309.14316"),  # seen 0.53-0.72
    ],
    "activating_pretrained_knowledge/synthetic_translation": [
        C("no_translation_before", "Before fine-tuning it continues the prose.", "before_max <= 0.03"),  # seen 0.000
        C("unlocks_heldout_pairs", "A dozen pairs unlock most held-out pairs (mean over the seeds).",
          "after >= 0.5"),  # seen 0.625-0.917 (mean of two seeds; single seeds 0.528-0.917)
        C("control_fits", "The random-init control fits its pairs...", "control_tuned_min >= 0.9"),  # seen 1.000
        C("control_translates_none", "...and translates almost none of the others.", "control_max <= 0.06"),  # seen 0.000
        C("unlocks_beyond_latent", "Fine-tuning unlocks far more held-out words than the untuned continuations "
          "already contained.", "after - latent >= 0.3"),  # seen 0.60-0.86 (latent alone 0.000-0.167)
    ],
    "broad_applications_fine_tuning_llms/synthetic_token_shift": [
        C("answers_right", "The fine-tuned model states right facts about held-out people.",
          "answers_right >= 0.7"),  # seen 0.884-0.960
        C("style_shifted", "Every style token is shifted: the base model never wrote them.", "shifted_style >= 0.99",
          "7.8 % of tokens shifted, mostly stylistic (Llama-2-7b -> chat): Lin et al., arXiv 2312.01552"),  # seen 1.000
        C("facts_in_base_top3", "Facts are mostly within the base model's top three.",
          "top3_fact >= 0.6"),  # seen 0.743-0.831
        C("style_not_facts", "Style shifts far more than facts.",
          "shifted_style - shifted_fact >= 0.5"),  # seen 0.74-0.83
        C("fewer_unshifted_than_urial", "Far fewer tokens are unshifted than in URIAL's Llama-2 pair.",
          "unshifted <= 0.6",
          "77.7 % unshifted (Llama-2-7b -> chat): Lin et al., arXiv 2312.01552"),  # seen 0.416-0.465
    ],
    "evaluating_researchers_conclusion/synthetic_data_size": [
        C("zero_before", "With no fine-tuning the model answers nothing, not even in the answer format.",
          "zero_heldout <= 0.02 and zero_format <= 0.05"),  # seen 0.000 and 0.000
        # Format (the answer is one of the world's values for the attribute asked about, then
        # <eos>) against knowledge (exact match), from the same greedy answers.
        C("format_by_5", "After 5 examples both recipes answer most held-out questions in the right format.",
          "full_format_5 >= 0.8 and words_format_5 >= 0.7"),  # seen 0.912-0.988 and 0.808-0.986
        C("format_stays", "From 15 examples on, the format stays near its ceiling.",
          "full_format_min_from_15 >= 0.85 and words_format_min_from_15 >= 0.85"),  # seen 0.940-0.970 and 0.950-0.996
        C("knowledge_lags_format", "At 15 examples knowledge is far below format.",
          "full_gap_15 >= 0.5 and words_gap_15 >= 0.3"),  # seen 0.716-0.754 and 0.460-0.606
        C("absent_get_format", "People absent from pre-training get well-formed answers too.",
          "full_absent_format_min_from_15 >= 0.8 and words_absent_format_min_from_15 >= 0.8"),  # seen 0.916-0.962 and 0.902-0.968
        C("full_learns", "Full fine-tuning with all the data answers most held-out questions.",
          "full_all >= 0.5"),  # seen 0.720-0.838
        C("full_no_collapse", "More data never costs full fine-tuning more than a few points.",
          "full_max_minus_all <= 0.05"),  # seen 0.000 (the curve never fell)
        C("full_learns_answers", "Full fine-tuning partly learns the answers themselves (at 50 examples).",
          "full_50_seen - full_50_unseen >= 0.08"),  # seen 0.143-0.336
        C("words_lead", "Question words only is at least five points higher at every size from 15 on.",
          "words_lead_min_from_15 >= 0.05"),  # seen 0.104-0.176 (words lr 1e-2)
        C("words_high", "Question words only reaches a high all-data accuracy.",
          "words_all >= 0.8"),  # seen 0.940-0.954
        C("words_50_share", "Fifty examples give most of the all-data accuracy.",
          "words_50_share >= 0.6"),  # seen 0.736-0.919
        C("words_flat_after_125", "125 examples give nearly all of it (four fifths or more).", "words_125_share >= 0.8",
          "LIMA quantity ablation, 7B LLaMa, 2K -> 32K Stack Exchange examples: ChatGPT-graded helpfulness flat "
          "(Zhou et al., arXiv 2305.11206, §5); ours saturates at far fewer"),  # seen 0.873-0.985
        C("absent_at_chance", "People absent from pre-training stay near chance.",
          "absent_max <= 0.10"),  # seen 0.044-0.056
    ],
    "fine_tuning_strategies/synthetic_lora_rank": [
        C("full_answers_heldout", "Full fine-tuning answers most held-out questions.",
          "full_heldout >= 0.5"),  # seen 0.710-0.836
        C("ranks_near_full", "From rank 2 up, every adapter lands within 20 points of full fine-tuning.",
          "lora_r2_up_heldout_min >= full_heldout - 0.2"),  # seen 0.03-0.12 behind
        C("rank_matters_little", "From rank 2 to the largest rank run, the held-out accuracy moves by at most 15 points.",
          "lora_r2_up_spread <= 0.15",
          "WikiSQL 73.3-73.8 % for r = 2-64 on GPT-3 (Wq, Wv): Hu et al., arXiv 2106.09685, Table 6"),  # seen 0.020-0.094
        C("few_params_suffice", "A few thousand parameters reach 90 % of full fine-tuning from pre-trained weights.",
          "pretrained_reached_90 and pretrained_params_for_90 <= 8192"),  # seen 2,048 on every run
        C("random_init_needs_more", "From random init nothing does so in the same steps.",
          "not random_reached_90 or random_params_for_90 >= 10 * pretrained_params_for_90"),  # never reached
    ],
}


def assert_claims(run) -> None:
    """Print a snippet run's output and every claim with its values; fail on any claim missed."""
    print(run.stdout)
    text, failed = report(run.name, run.results)
    print(text)
    assert not failed, f"{run.name}: claims not held: {', '.join(failed)}\n{text}"


from fieldguide.claims_real_models import REAL_MODEL_CLAIMS  # noqa: E402

# Every claim the site states: the activation lab's (bands from the measured spread) and the real
# checkpoints' (claims_real_models).
CLAIMS: dict[str, list[Claim]] = {**LAB_CLAIMS, **REAL_MODEL_CLAIMS}
