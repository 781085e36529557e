"""The checkpoint kept is the one the probe rule picks, and the run ends there when told to."""

from __future__ import annotations

import time

import torch
from transformers import AutoModelForCausalLM

from pipelines.training import loop as training
from pipelines.training import selection
from pipelines.training.loop import TrainControl
from tests.training.test_training import CONFIG, setup

RULE = selection.SelectionConfig(forget_target=0.9, max_perplexity_rise=0.05,
                                 max_neighbour_fall=0.05)  # fmt: skip
START = {"book": 0.5, "neighbours": 0.6, "retain_ppl": 20.0}


def point(book, neighbours=0.6, ppl=20.0):
    return {"book": book, "neighbours": neighbours, "retain_ppl": ppl}


def test_the_first_point_that_meets_the_target_within_limits_stops_the_run():
    points = [(0, START), (2, point(0.2)), (4, point(0.04, ppl=25.0)), (6, point(0.04, 0.59))]
    choice = selection.choose(points, RULE)
    assert (choice.index, choice.step, choice.stop) == (3, 6, True)
    assert "92%" in choice.reason


def test_without_a_point_at_the_target_the_best_trade_off_is_kept():
    # step 4 forgets more but costs 20 points of perplexity past the limit: 0.8 - 2*0.2 < 0.6
    points = [(0, START), (2, point(0.2)), (4, point(0.1, ppl=25.0)), (6, point(0.3))]
    choice = selection.choose(points, RULE)
    assert (choice.step, choice.stop) == (2, False)
    assert "best trade-off" in choice.reason and "within the utility limits" in choice.reason
    assert selection.choose([(0, START), (3, point(0.5, 0.1))], RULE).step == 3  # never step 0


def test_training_finishes_on_the_weights_of_the_chosen_probe_point(tiny_model_dir):
    tok, model, examples = setup(tiny_model_dir)
    total = training.total_steps(len(examples), CONFIG)
    snapshots = {}

    def probe(m):
        step = len(snapshots) * 2
        snapshots[step] = {k: v.detach().clone() for k, v in m.state_dict().items()}
        time.sleep(0.05)  # a probe's cost, which the result counts
        return point(0.5 if step != 2 else 0.3)  # step 2 forgets most; nothing meets the target

    control = TrainControl(probe=probe, probe_every=2,
                           choose=lambda points: selection.choose(points, RULE))  # fmt: skip
    trained, result = training.train(model, examples, CONFIG, pad_id=tok.eos_token_id,
                                     control=control)  # fmt: skip
    assert result.kept.step == 2 and len(result.losses) == total  # ran to the end
    assert result.probe_seconds >= 0.05 * len(result.probes) > 0
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(value, snapshots[2][name])
    fresh = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    last, _ = training.train(fresh, examples, CONFIG, pad_id=tok.eos_token_id)
    pairs = zip(last.parameters(), trained.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)  # the last step is not what was kept


def test_a_point_at_the_target_ends_training_early(tiny_model_dir):
    tok, model, examples = setup(tiny_model_dir)
    seen = []

    def probe(_m):
        seen.append(1)
        return START if len(seen) == 1 else point(0.01)

    control = TrainControl(probe=probe, probe_every=2,
                           choose=lambda points: selection.choose(points, RULE))  # fmt: skip
    _, result = training.train(model, examples, CONFIG, pad_id=tok.eos_token_id, control=control)
    assert result.kept.stop and result.kept.step == 2 and len(result.losses) == 2
