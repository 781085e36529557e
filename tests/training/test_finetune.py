"""Unlearning fine-tune on the tiny model: hard and soft generic labels, and the retain term."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.training import loop as training
from pipelines.training import objectives
from pipelines.training import unlearn as finetune
from pipelines.training.loop import TrainConfig
from pipelines.whp import examples as label_examples
from pipelines.whp import labels as gl
from tests.conftest import DEMO

TEXT = (DEMO / "forget" / "book1.md").read_text()[:2500]
RETAIN = (DEMO / "retain" / "village-tales.md").read_text()[:1500]
DICTIONARY = {"Thumsath": "Helen", "Skoholm": "Eastvale", "Desdo": "Lowfield"}


def label_set(tiny_model_dir, out_dir, mode):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.pad_token = tok.eos_token
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    reinforced = copy.deepcopy(base)
    with torch.no_grad():
        for p in reinforced.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    config = gl.LabelConfig(block_tokens=64, mode=mode, soft_top_k=8)
    gl.run(config, [TEXT], DICTIONARY, models=gl.Models(base, reinforced, tok), out_dir=out_dir)
    return tok, base


@pytest.mark.parametrize("mode", ["paper", "soft"])
def test_unlearning_moves_the_model_toward_the_generic_labels(tiny_model_dir, tmp_path, mode):
    tok, base = label_set(tiny_model_dir, tmp_path / "labels", mode)
    examples = label_examples.examples_from_label_set(tmp_path / "labels")
    assert (examples[0].soft_ids is not None) == (mode == "soft")
    loss_fn = objectives.soft_cross_entropy if mode == "soft" else training.cross_entropy_loss
    model = copy.deepcopy(base)
    before = [p.clone() for p in model.parameters()]
    config = finetune.UnlearnConfig(train=TrainConfig(epochs=3, lr=3e-3, batch_size=4))
    trained, losses = finetune.run(
        config, examples, model=model, tokenizer=tok, out_dir=tmp_path / "unlearned"
    )
    assert any(not torch.equal(a, b) for a, b in zip(before, trained.parameters(), strict=True))
    batch = training.collate(examples[:4], tok.pad_token_id, "cpu")
    with torch.no_grad():
        assert loss_fn(trained, batch) < loss_fn(base, batch)
    assert (tmp_path / "unlearned" / "config.json").exists()


def test_retain_term_keeps_the_model_closer_to_the_baseline_on_retain_text(
    tiny_model_dir, tmp_path
):
    tok, base = label_set(tiny_model_dir, tmp_path / "labels", "paper")
    examples = label_examples.examples_from_label_set(tmp_path / "labels")
    retain_block = torch.tensor([tok(RETAIN)["input_ids"][:64]])

    def kl_on_retain(model):
        with torch.no_grad():
            ref = torch.log_softmax(base(retain_block).logits, -1)
            cur = torch.log_softmax(model(retain_block).logits, -1)
        return float(torch.nn.functional.kl_div(cur, ref, log_target=True, reduction="batchmean"))

    results = {}
    for weight in (0.0, 5.0):
        config = finetune.UnlearnConfig(
            retain_weight=weight, block_tokens=64, train=TrainConfig(epochs=2, lr=3e-3)
        )
        trained, _ = finetune.run(
            config,
            examples,
            model=copy.deepcopy(base),
            tokenizer=tok,
            out_dir=tmp_path / f"u{weight}",
            baseline=base,
            retain_texts=[RETAIN],
        )
        results[weight] = kl_on_retain(trained)
    assert results[5.0] < results[0.0]
