"""Reinforcement on the tiny model: parameters change, loss falls, the saved folder reloads."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.training.loop import TrainConfig, TrainControl
from pipelines.whp import reinforce
from tests.conftest import DEMO

TEXT = (DEMO / "forget" / "book1.md").read_text()[:3000]


@pytest.mark.parametrize("lora", [False, True])
def test_reinforce_changes_parameters_lowers_loss_and_saves(tiny_model_dir, tmp_path, lora):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = reinforce.ReinforceConfig(
        block_tokens=64, train=TrainConfig(epochs=4, lr=3e-3, batch_size=4, lora=lora, lora_rank=4)
    )
    steps = []
    result = reinforce.run(
        config,
        [TEXT],
        model=model,
        tokenizer=tokenizer,
        out_dir=tmp_path / "r",
        control=TrainControl(progress=lambda p: steps.append((p.step, p.total))),
    )
    assert steps[-1][0] == steps[-1][1] == len(result.losses)
    assert sum(result.losses[-3:]) / 3 < sum(result.losses[:3]) / 3
    reloaded = AutoModelForCausalLM.from_pretrained(result.model_dir)
    after = reloaded.state_dict()
    assert set(after) == set(before)  # LoRA was merged: a plain model folder
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any("q_proj" in k for k in changed)
    record = json.loads((result.model_dir / "unlearn_training.json").read_text())
    assert record["stage"] == "reinforce" and record["config"]["train"]["lora"] is lora
