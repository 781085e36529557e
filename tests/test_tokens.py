"""Every sequence fed to a model starts with its BOS where its tokenizer adds one (Gemma, Llama)."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import processors
from transformers import AutoTokenizer

from pipelines.evaluation.familiarity import _prompt_and_first_answer_token
from pipelines.tokens import leading_ids
from pipelines.training.loop import token_blocks
from pipelines.whp.alignment import align_block, make_blocks
from pipelines.whp.translate import Translator

TEXT = (
    "Thumsath walked from Skoholm to the river. The people of Skoholm keep Sabuth in winter. "
    "Thumsath said that Skoholm was cold, and the road was long and quiet."
)
DICTIONARY = {"Skoholm": "the harbour town of Greyport", "Thumsath": "Anna"}


@pytest.fixture
def plain(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def with_bos(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    bos = tokenizer.bos_token_id
    tokenizer._tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bos)]
    )
    return tokenizer


def test_only_a_tokenizer_that_adds_bos_by_itself_gets_it(plain, with_bos):
    assert leading_ids(plain) == []
    assert leading_ids(with_bos) == [with_bos.bos_token_id]


def test_training_blocks_each_start_with_bos_and_keep_their_length(plain, with_bos):
    bos = with_bos.bos_token_id
    blocks = token_blocks(with_bos, [TEXT], 16)
    assert all(b[0] == bos and len(b) <= 16 for b in blocks)
    text_ids = [i for b in blocks for i in b[1:]]
    assert text_ids == [i for b in token_blocks(plain, [TEXT], 15) for i in b]


def test_aligned_blocks_start_with_bos_on_both_sides_and_align_the_rest_as_before(plain, with_bos):
    translator = Translator(DICTIONARY)
    (led,) = make_blocks(with_bos, [TEXT], 512)
    (bare,) = make_blocks(plain, [TEXT], 512)
    a, b = align_block(led, translator, with_bos), align_block(bare, translator, plain)
    assert led.ids[0] == a.translated_ids[0] == with_bos.bos_token_id
    assert led.ids[1:] == bare.ids and a.translated_ids[1:] == b.translated_ids
    assert a.align[0] == 0
    assert np.array_equal(a.align[1:], np.where(b.align >= 0, b.align + 1, -1))
    assert np.array_equal(a.target_in_anchor[1:], b.target_in_anchor)
    assert a.target_in_anchor[0]  # BOS predicts the first word, here an anchor


def test_a_fact_prompt_starts_with_bos_and_reads_the_same_answer_token(plain, with_bos):
    led, first = _prompt_and_first_answer_token(with_bos, "Thumsath walked from", "Skoholm")
    bare, same = _prompt_and_first_answer_token(plain, "Thumsath walked from", "Skoholm")
    assert led == [with_bos.bos_token_id] + bare and first == same
