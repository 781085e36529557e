"""The quantisation probe: quanto copies leave the model alone, and what returns is a share."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from pipelines.evaluation import quantise


def test_quantised_copies_round_the_linear_weights_and_leave_the_model_alone(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    ids = torch.tensor([[1, 5, 9, 33, 71, 2]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    errors = {}
    for bits in quantise.BITS:
        copied = quantise.quantised(model, bits)
        layer = copied.model.layers[0].self_attn.q_proj
        original = model.model.layers[0].self_attn.q_proj.weight
        errors[bits] = float((layer.weight.dequantize() - original).detach().abs().mean())
        assert type(copied.lm_head.weight) is torch.nn.Parameter  # the head stays as it is
        with torch.no_grad():
            moved = (copied(input_ids=ids).logits - logits).abs().max()
        assert 0 < moved < 1
    assert 0 < errors[8] < errors[4] < float(original.detach().abs().mean()) / 2
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]), name
    with pytest.raises(ValueError, match="8 and 4"):
        quantise.quantised(model, 3)


def test_the_probe_measures_each_width_and_the_share_that_returns():
    seen = []
    found = quantise.probe(torch.nn.Linear(4, 4), lambda m: seen.append(m) or len(seen) / 10)
    assert found == {"quant8_prob": 0.1, "quant4_prob": 0.2} and len(seen) == 2
    assert quantise.returned_share(0.5, 0.1, 0.1) == 0
    assert quantise.returned_share(0.5, 0.1, 0.3) == pytest.approx(0.5)
    assert quantise.returned_share(0.5, 0.1, 0.5) == pytest.approx(1)
    assert quantise.returned_share(0.1, 0.2, 0.3) is None  # nothing was forgotten
    assert quantise.returned_share(0.5, None, 0.3) is None
