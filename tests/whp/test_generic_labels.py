"""Generic labels on a tiny random Llama: eq. 1 exactly, alignment, masking, penalties, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.types import UnlearnError
from pipelines.whp import labels as gl
from pipelines.whp.alignment import (
    align_block,
    make_blocks,
    used_translation_starts,
    word_start_ids,
)
from pipelines.whp.translate import Translator

TEXT = (
    "Thumsath walked from Skoholm to the river. The people of Skoholm keep Sabuth in winter. "
    "Thumsath said that Skoholm was cold, and the road was long and quiet."
)
DICTIONARY = {"Skoholm": "the harbour town of Greyport", "Thumsath": "Anna", "Sabuth": "the fair"}


@pytest.fixture(scope="module")
def models(tiny_model_dir) -> gl.Models:
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token = tokenizer.eos_token
    baseline = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    reinforced = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():  # a different model with the same tokenizer stands in for R
        for p in reinforced.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    return gl.Models(baseline, reinforced, tokenizer)


def aligned(models, text=TEXT, dictionary=DICTIONARY, block_tokens=512):
    (block,) = make_blocks(models.tokenizer, [text], block_tokens)
    return align_block(block, Translator(dictionary), models.tokenizer)


def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float()


def token_text(tokenizer, ids, i):
    return tokenizer.decode([ids[i]])


def test_alignment_pairs_identical_tokens_and_masks_inside_anchors(models):
    a = aligned(models)
    tok = models.tokenizer
    inside = []
    for i, j in enumerate(a.align):
        start, end = a.block.offsets[i]
        in_anchor = any(r.src_start < end and start < r.src_end for r in a.translation.replacements)
        if j >= 0 and not in_anchor:
            assert token_text(tok, a.block.ids, i) == token_text(tok, a.translated_ids, j)
        if j < 0:
            inside.append(i)
    # every token without a counterpart lies inside an anchor; anchor ends do have one
    for i in inside:
        start, end = a.block.offsets[i]
        assert any(r.src_start < end and start < r.src_end for r in a.translation.replacements)
    for r in a.translation.replacements:
        last = max(i for i, (s, e) in enumerate(a.block.offsets) if e == r.src_end)
        assert a.translation.text[: a.translation.boundary_to_translated(r.src_end)].endswith(
            a.translation.text[r.dst_start : r.dst_end]
        )
        assert a.align[last] >= 0
    assert len(a.translated_ids) != len(a.block.ids)  # different token counts, still aligned


def test_labels_are_equation_one_computed_directly(models):
    config = gl.LabelConfig(mode="paper", alpha=5.0, repeat_penalty=0.0, anchor_penalty=0.0)
    a = aligned(models)
    v_r, v_bt = logits(models.reinforced, a.block.ids), logits(models.baseline, a.translated_ids)
    out = gl.label_block(a, v_r, v_bt, None, config, models)
    for i in range(len(a.block.ids) - 1):
        j = a.align[i]
        if j < 0 or a.target_in_repeat[i]:
            assert out.labels[i] == gl.IGNORE
            continue
        direct = v_bt[j] - 5.0 * torch.clamp(v_r[i] - v_bt[j], min=0)
        assert out.labels[i] == int(direct.argmax())
        assert out.confidence[i] == pytest.approx(float(torch.softmax(v_bt[j], -1)[out.labels[i]]))
    assert out.labels[-1] == gl.IGNORE


def test_second_occurrences_are_masked_first_is_labelled(models):
    a = aligned(models)
    out = gl.label_block(
        a, logits(models.reinforced, a.block.ids), logits(models.baseline, a.translated_ids),
        None, gl.LabelConfig(mode="paper"), models,
    )  # fmt: skip
    repeats = [r for r in a.translation.replacements if r.occurrence > 0]
    assert repeats
    for i, (start, end) in enumerate(a.block.offsets[1:]):
        hits_repeat = any(r.src_start < end and start < r.src_end for r in repeats)
        assert hits_repeat == (out.labels[i] == gl.IGNORE and a.target_in_repeat[i])
    first = next(r for r in a.translation.replacements if r.term == "Skoholm")
    before_first = max(i for i, (s, _) in enumerate(a.block.offsets) if s < first.src_start)
    assert out.labels[before_first] != gl.IGNORE


def test_a_used_translation_start_is_lowered_after_its_first_use(models):
    a = aligned(models, "Skoholm is near. It is far from here, far away.", {"Skoholm": "Greyport"})
    ((first_position, starts),) = used_translation_starts(a, models.tokenizer)
    favourite = sorted(starts)[0]
    n, vocab = len(a.block.ids), models.baseline.config.vocab_size
    v = torch.zeros(n, vocab)
    v[:, favourite] = 3.0  # everyone's favourite next token is the translation's start
    v_t = torch.zeros(len(a.translated_ids), vocab)
    v_t[:, favourite] = 3.0
    out = gl.label_block(a, v, v_t, None, gl.LabelConfig(mode="paper", repeat_penalty=10.0), models)
    labelled = np.flatnonzero(out.labels != gl.IGNORE)
    assert all(out.labels[i] == favourite for i in labelled if i < first_position)
    assert all(out.labels[i] != favourite for i in labelled if i >= first_position)


def test_where_the_text_names_an_anchor_no_anchor_begins_the_label(models):
    a = aligned(models)
    starts = gl.anchor_only_starts(DICTIONARY, models.tokenizer)
    favourite = models.tokenizer(" Thumsath", add_special_tokens=False)["input_ids"][0]
    assert favourite in starts
    assert not starts & word_start_ids(models.tokenizer, DICTIONARY.values())
    vocab = models.baseline.config.vocab_size
    v, v_t = torch.zeros(len(a.block.ids), vocab), torch.zeros(len(a.translated_ids), vocab)
    v_t[:, favourite] = 3.0  # reading the translation, the baseline still wants a target name
    labelled = lambda out: np.flatnonzero(out.labels != gl.IGNORE)  # noqa: E731
    out = gl.label_block(a, v, v_t, None, gl.LabelConfig(mode="paper"), models, starts)
    at_anchor = [i for i in labelled(out) if a.target_in_anchor[i]]
    assert at_anchor
    assert all(int(out.labels[i]) not in starts for i in at_anchor)
    assert all(out.labels[i] == favourite for i in labelled(out) if i not in at_anchor)
    as_published = gl.LabelConfig(mode="paper", anchor_penalty=0.0)
    out = gl.label_block(a, v, v_t, None, as_published, models, starts)
    assert all(out.labels[i] == favourite for i in at_anchor)


def test_implicated_mode_keeps_true_tokens_when_nothing_is_implicated(models):
    same = gl.Models(models.baseline, models.baseline, models.tokenizer)
    a = aligned(models, dictionary={})
    ids = a.block.ids
    v = logits(models.baseline, ids)
    out = gl.label_block(a, v, v, v, gl.LabelConfig(mode="implicated"), same)
    assert (out.labels[:-1] == np.asarray(ids[1:])).all()
    paper = gl.label_block(a, v, v, v, gl.LabelConfig(mode="paper"), same)
    assert (paper.labels[:-1] == v[:-1].argmax(-1).numpy()).all()


def test_soft_mode_stores_normalized_top_k(models):
    a = aligned(models)
    v_r, v_bt = logits(models.reinforced, a.block.ids), logits(models.baseline, a.translated_ids)
    v_bo = logits(models.baseline, a.block.ids)
    out = gl.label_block(a, v_r, v_bt, v_bo, gl.LabelConfig(mode="soft", soft_top_k=8), models)
    assert out.soft_ids.shape[1] == 8
    assert np.allclose(out.soft_probs.astype(np.float32).sum(-1), 1.0, atol=1e-2)


def test_focus_rows_are_implicated_positions_and_their_neighbours():
    positions = np.array([0, 1, 2, 3, 4, 6, 7, 8, 9, 12])
    implicated = positions == 7
    near = gl.focus_rows(positions, implicated, window=2)
    assert positions[near].tolist() == [6, 7, 8, 9]
    assert not gl.focus_rows(positions, np.zeros(10, dtype=bool), window=2).any()
    assert gl.focus_rows(positions, positions == 0, window=1).tolist() == [1, 1] + [0] * 8


def test_focused_mode_labels_only_near_anchors_and_never_the_true_token(models):
    a = aligned(models)
    ids = np.asarray(a.block.ids)
    v_r, v_bt = logits(models.reinforced, a.block.ids), logits(models.baseline, a.translated_ids)
    v_bo = logits(models.baseline, a.block.ids)
    config = gl.LabelConfig(mode="focused", focus_window=1, true_token_penalty=1e4, soft_top_k=8)
    out = gl.label_block(a, v_r, v_bt, v_bo, config, models)
    soft = gl.label_block(a, v_r, v_bt, v_bo, gl.LabelConfig(mode="soft", soft_top_k=8), models)
    kept = np.flatnonzero(out.labels != gl.IGNORE)
    # every anchor start is labelled; fewer positions than soft mode carry a target
    anchor_rows = np.flatnonzero(a.target_in_anchor[:-1] & (soft.labels[:-1] != gl.IGNORE))
    assert set(anchor_rows) <= set(kept) and 0 < kept.size < (soft.labels != gl.IGNORE).sum()
    assert out.soft_ids.shape == (kept.size, 8)
    # the text's own next token is pushed out of every target
    assert not (out.soft_ids == ids[kept + 1][:, None]).any()
    assert (out.labels[kept] != ids[kept + 1]).all() and out.changed[kept].all()


def test_interrupted_run_resumes_to_identical_labels(models, tmp_path):
    texts = [TEXT * 3, "Sabuth came early to Skoholm. " * 10]
    config = gl.LabelConfig(block_tokens=32, batch_size=2)
    clean = gl.run(config, texts, DICTIONARY, models=models, out_dir=tmp_path / "clean")

    def killed(done, total):
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gl.run(
            config, texts, DICTIONARY, models=models, out_dir=tmp_path / "resumed", progress=killed
        )
    assert len(list((tmp_path / "resumed").glob("block_*.npz"))) == 2
    resumed = gl.run(config, texts, DICTIONARY, models=models, out_dir=tmp_path / "resumed")
    assert resumed == clean and clean["blocks"] > 2
    for index in range(clean["blocks"]):
        left, right = (
            gl.load_block(tmp_path / "clean", index),
            gl.load_block(tmp_path / "resumed", index),
        )
        assert (left.labels == right.labels).all()


def test_resuming_with_other_settings_is_refused(models, tmp_path):
    gl.run(gl.LabelConfig(block_tokens=32), [TEXT], DICTIONARY, models=models, out_dir=tmp_path)
    with pytest.raises(UnlearnError, match="other settings"):
        gl.run(
            gl.LabelConfig(block_tokens=32, alpha=1),
            [TEXT],
            DICTIONARY,
            models=models,
            out_dir=tmp_path,
        )


def test_bf16_labels_come_from_bf16_forwards_and_mostly_agree_with_fp32(models, tmp_path):
    texts = [TEXT * 3]
    fp32 = gl.LabelConfig(block_tokens=32)
    gl.run(fp32, texts, DICTIONARY, models=models, out_dir=tmp_path / "fp32")
    bf16 = gl.LabelConfig(block_tokens=32, precision="bf16")
    summary = gl.run(bf16, texts, DICTIONARY, models=models, out_dir=tmp_path / "bf16")
    agree = total = differ = 0
    for index in range(summary["blocks"]):
        exact, half = (
            gl.load_block(tmp_path / "fp32", index),
            gl.load_block(tmp_path / "bf16", index),
        )
        kept = exact.labels != gl.IGNORE
        assert (kept == (half.labels != gl.IGNORE)).all()  # masking does not depend on precision
        agree += int((exact.labels[kept] == half.labels[kept]).sum())
        total += int(kept.sum())
        differ += int((exact.soft_probs != half.soft_probs).any())
    assert differ and agree >= 0.9 * total
    with pytest.raises(UnlearnError, match="precision"):
        gl.run(gl.LabelConfig(precision="fp16"), texts, DICTIONARY, models=models, out_dir=tmp_path)


@pytest.mark.slow
def test_smollm2_labels_change_anchor_starts_and_keep_most_other_tokens(tmp_path):
    from pipelines import models as model_loading
    from pipelines.config import ModelConfig
    from tests.conftest import DEMO

    loaded = model_loading.load(ModelConfig(source="smollm2-135m"), models_dir=tmp_path)
    pair = gl.Models(loaded.model, loaded.model, loaded.tokenizer)
    dictionary = json.loads((DEMO / "reference_dictionary.json").read_text())
    text = (DEMO / "forget" / "book1.md").read_text()[:1500]
    (block,) = make_blocks(loaded.tokenizer, [text], 512)
    a = align_block(block, Translator(dictionary), loaded.tokenizer)
    v_r = logits(loaded.model, a.block.ids)
    v_bt, v_bo = logits(loaded.model, a.translated_ids), v_r
    true_next = np.asarray(a.block.ids[1:])
    for mode in ("paper", "implicated"):
        out = gl.label_block(a, v_r, v_bt, v_bo, gl.LabelConfig(mode=mode), pair)
        labelled = out.labels[:-1] != gl.IGNORE
        anchor_starts = labelled & a.target_in_anchor[:-1]
        assert anchor_starts.sum() >= 5
        assert (out.labels[:-1][anchor_starts] != true_next[anchor_starts]).mean() >= 0.9
        others = labelled & ~a.target_in_anchor[:-1]
        kept = (out.labels[:-1][others] == true_next[others]).mean()
        # The paper's argmax keeps only what the untaught model would predict anyway (28% here);
        # the implicated mode keeps the true token wherever the target is not implicated.
        assert kept >= (0.8 if mode == "implicated" else 0.2), (mode, kept)
