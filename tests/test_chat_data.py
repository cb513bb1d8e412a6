"""fieldguide.chat_data: the data sets of issue 6 and the response-masking plumbing (no model weights)."""

import re

import pytest

from fieldguide.chat_data import (IGNORE, PeakMemory, collate, encode, instruction_set, instruction_tasks,
                                  preference_pairs, stratified_split)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from fieldguide import model_folder

    return AutoTokenizer.from_pretrained(model_folder("smollm2-135m-instruct"))


def test_instruction_set_and_split_cover_every_category():
    items = instruction_set()
    assert len(items) == 64 and len({it["prompt"] for it in items}) == 64
    train, heldout = stratified_split(items, 16)
    assert len(train) == 48 and len(heldout) == 16
    assert {it["category"] for it in heldout} == {it["category"] for it in items}
    assert not {it["prompt"] for it in train} & {it["prompt"] for it in heldout}


def test_heldout_preference_pairs_use_filler_never_seen_in_training():
    pairs = preference_pairs()
    train = [p for p in pairs if p["split"] == "train"]
    heldout = [p for p in pairs if p["split"] == "heldout"]
    assert (len(train), len(heldout)) == (30, 10)

    def filler(p):  # the rejected answer minus its core sentence
        return set(re.split(r" The answer to your question is: .*?\. ", p["rejected"]))

    seen = set().union(*map(filler, train))
    assert all(not filler(p) & seen for p in heldout)
    assert all(p["chosen"] in p["rejected"] and len(p["chosen"]) < len(p["rejected"]) / 4 for p in pairs)


def test_instruction_tasks_have_eight_tasks_with_one_instruction_each():
    rows = instruction_tasks()
    tasks = {}
    for row in rows:
        tasks.setdefault(row["task"], set()).add(row["instruction"])
    assert len(tasks) == 8 and all(len(v) == 1 for v in tasks.values())


def test_encode_masks_the_prompt_and_ends_with_end_of_turn(tokenizer):
    example = encode(tokenizer, "What is 7 plus 8?", "15.")
    masked = encode(tokenizer, "What is 7 plus 8?", "15.", mask_prompt=False)
    n_prompt = sum(label == IGNORE for label in example.labels)
    assert example.ids == masked.ids and n_prompt > 0 and masked.n_response == len(masked.ids)
    response = example.ids[n_prompt:]
    assert tokenizer.decode(response) == "15." + tokenizer.eos_token
    assert example.labels[n_prompt:] == response


def test_collate_pads_right_and_ignores_padding(tokenizer):
    short, long = encode(tokenizer, "Hi", "Yo."), encode(tokenizer, "Say something longer, please.", "Something longer.")
    batch = collate([short, long], tokenizer.pad_token_id)
    width = len(long.ids)
    assert batch.input_ids.shape == (2, width)
    assert batch.attention_mask[0].sum() == len(short.ids)
    assert (batch.labels[0, len(short.ids):] == IGNORE).all()
    assert batch.n_targets == short.n_response + long.n_response


def test_peak_memory_sees_an_allocation():
    import torch

    with PeakMemory(torch.device("cpu")) as memory:
        block = torch.ones(64 * 2**20 // 4)  # 64 MB
        block += 1
        del block
    assert 40 < memory.peak_mb < 400
