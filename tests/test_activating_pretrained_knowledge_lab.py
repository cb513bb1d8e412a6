"""Claims of the activation lab on 'Fine-Tuning as a Mechanism for Activating Pre-Trained
Knowledge' (section "In a controlled world"), at ci scale.

Tolerances were set from two seeds measured on a shared 2-core machine (see each test);
the snippets pre-train tiny GPTs from scratch, so held-out scores move by ~0.1 between seeds.
"""

from fieldguide.execute import run_snippet


def show(run):
    print(run.stdout)
    print({k: v["text"] for k, v in run.results["metrics"].items()})


def test_synthetic_bios_activation_pretrained_answers_heldout_people_random_init_does_not():
    run = run_snippet("activating_pretrained_knowledge/synthetic_bios_activation")
    show(run)
    m = run.metric
    # Before fine-tuning the question format is new: no answers at all.
    assert m("before_heldout_min") <= 0.02 and m("before_heldout") <= 0.02
    # Pre-trained + QA fine-tuning: fits its half and answers most held-out questions
    # (measured 0.71 / 0.76 on seeds 0 / 1; 0.77-0.91 with earlier versions of the world).
    assert m("pretrained_tuned_min") >= 0.95
    assert m("pretrained_heldout_min") >= 0.55
    # Random init + the same fine-tuning: at chance / the majority baseline (measured 0.05 / 0.04).
    assert m("random_heldout") <= max(m("majority"), 1 / 30) + 0.05
    assert m("pretrained_heldout_min") - m("random_heldout") >= 0.45
    # People never in pre-training stay near chance (measured 0.04 / 0.02).
    assert m("pretrained_absent") <= 0.10


def test_synthetic_extractability_augmented_biographies_extractable_single_not():
    run = run_snippet("activating_pretrained_knowledge/synthetic_extractability")
    show(run)
    m = run.metric
    # Both arms store the facts: they predict the values in their own biographies
    # (measured: single 1.00, augmented 0.97).
    assert m("single_memorised_min") >= 0.9
    assert m("augmented_memorised_min") >= 0.9
    # Both fit the fine-tuned half.
    assert m("single_tuned_min") >= 0.9 and m("augmented_tuned_min") >= 0.9
    # Only the augmented model answers for held-out people (measured: single 0.09 / 0.13,
    # augmented 0.71 / 0.76 on seeds 0 / 1; Physics of LMs 3.1: 9.7 % vs 96.6 %).
    assert m("single_extracted_max") <= 0.25
    assert m("augmented_extracted_min") >= m("single_extracted_max") + 0.35


def test_synthetic_translation_few_instructions_unlock_heldout_pairs():
    run = run_snippet("activating_pretrained_knowledge/synthetic_translation")
    show(run)
    m = run.metric
    assert m("before") <= 0.03           # before: it continues the prose
    assert m("after") >= 0.6             # measured 0.86 on 36 held-out pairs
    assert m("control_tuned") >= 0.9     # the random-init control fits its 12 pairs...
    assert m("control") <= 0.06          # ...and translates none of the others
