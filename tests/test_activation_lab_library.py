"""The activation lab's plumbing: the synthetic world is what the pages say it is."""

import os
from dataclasses import replace

from fieldguide import tiny_gpt as lab
from fieldguide.synthetic_world import World


def test_world_is_deterministic_with_unique_names_and_a_closed_vocabulary():
    world, _, _ = lab.lab("ci", seed=3)
    again, _, _ = lab.lab("ci", seed=3)
    assert [(p.name, p.values) for p in world.people] == [(p.name, p.values) for p in again.people]
    assert world.biographies()[:20] == again.biographies()[:20]
    names = [p.name for p in world.people]
    assert len(set(names)) == len(names)
    tok = world.tokenizer
    for text in world.biographies()[:50] + world.lexicon_passages()[:50]:
        assert tok.decode(tok.encode(text)) == text
    other, _, _ = lab.lab("ci", seed=4)
    assert [p.values for p in other.people] != [p.values for p in world.people]


def test_pretraining_corpus_holds_no_questions_no_instructions_and_no_absent_people():
    world, _, _ = lab.lab("ci", seed=0)
    corpus = " ".join(world.biographies() + world.lexicon_passages())
    words = set(corpus.split())
    assert "Q" not in words and "A" not in words and "translate" not in words
    absent_names = {p.name for p in world.absent}
    assert not any(name in corpus for name in absent_names)
    # Every sentence of every biography starts with the person's full name.
    for person, sentences in world.biography_docs()[:200]:
        assert all(sentence.startswith(person.name + " ") for _, sentence in sentences)
        assert {a for a, _ in sentences} == set(world.attributes)


def test_single_and_augmented_worlds_share_people_and_differ_in_biographies():
    augmented, _, _ = lab.lab("ci", seed=0)
    single, _, _ = lab.lab("ci", seed=0, bios_per_person=1)
    assert [p.values for p in single.people] == [p.values for p in augmented.people]
    assert len(single.biographies()) == len(single.present)
    assert len(augmented.biographies()) == augmented.config.bios_per_person * len(augmented.present)
    per_person = {}
    for person, sentences in augmented.biography_docs():
        per_person.setdefault(person.index, set()).add(tuple(s for _, s in sentences))
    assert min(len(v) for v in per_person.values()) > 10  # rephrased and re-ordered, not copies


def test_pretrain_key_follows_the_configs_and_the_cpu_code_path(monkeypatch):
    world, model, train = lab.lab("ci", seed=0)
    key = lab.pretrain_key(world.config, model, train, "cpu")
    assert key == lab.pretrain_key(world.config, model, train, "cpu")
    assert key != lab.pretrain_key(world.config.with_(bios_per_person=1), model, train, "cpu")
    assert key != lab.pretrain_key(world.config, model, replace(train, steps=train.steps + 1), "cpu")
    assert key != lab.pretrain_key(world.config, replace(model, d_model=32), train, "cpu")
    # Another code path pre-trains anew: a cached checkpoint would hide its trajectory.
    for name in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "FIELDGUIDE_TORCH_THREADS"):
        before = os.environ.get(name)
        monkeypatch.setenv(name, f"{before}-another-value")  # differs from whatever the run exported
        assert key != lab.pretrain_key(world.config, model, train, "cpu"), name
        if before is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, before)
    assert key == lab.pretrain_key(world.config, model, train, "cpu")


def test_gpu_preset_builds_six_attributes():
    preset = lab.LAB_PRESETS["gpu"]
    world = World(preset["world"].with_(n_people=300, n_absent=30, lexicon_passages=10))
    assert len(world.attributes) == 6 and len(world.pools["birth_city"]) == preset["world"].n_values
    assert max(len(world.tokenizer.encode(b, bos=True, eos=True)) for b in world.biographies()) <= preset["model"].max_len
