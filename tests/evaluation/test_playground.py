"""The playground: background decoding of several models, batched, with P(expected)."""

from __future__ import annotations

import time

import pytest

from pipelines.config import ModelConfig
from pipelines.evaluation import playground
from pipelines.evaluation.evaluate import EvalConfig, complete
from pipelines.evaluation.familiarity import answer_probabilities
from pipelines.models import load
from pipelines.types import UnlearnError

PROMPTS = ["Thumsath Krydrous makes a home in the city of", "By trade, Thumsath Krydrous is a"]


def finished(decoding: playground.Decoding) -> playground.Decoding:
    for _ in range(600):
        if decoding.finished:
            return decoding
        time.sleep(0.05)
    raise AssertionError("decoding never finished")


def test_each_model_answers_every_prompt_as_the_evaluation_would(tiny_model_dir, tmp_path):
    cache = playground.ModelCache(tmp_path, size=1)
    sources = {"a": str(tiny_model_dir), "b": str(tiny_model_dir)}
    decoding = finished(playground.Decoding(sources, PROMPTS, "Ferkfell").start(cache))
    assert decoding.error is None and decoding.done == 2 and decoding.progress()[0] == 1.0
    assert [(a.model, a.prompt) for a in decoding.results] == [
        (m, p) for m in ("a", "b") for p in PROMPTS
    ]
    loaded = load(ModelConfig(source=str(tiny_model_dir)), models_dir=tmp_path)
    expected = complete(loaded.model, loaded.tokenizer, PROMPTS, decoding.config)
    probabilities = answer_probabilities(
        loaded.model, loaded.tokenizer, [(p, "Ferkfell") for p in PROMPTS]
    )
    assert [a.completion for a in decoding.results[:2]] == expected
    assert [a.probability for a in decoding.results[:2]] == pytest.approx(probabilities)
    rows = playground.side_by_side(decoding.results)
    assert [r["prompt"] for r in rows] == PROMPTS and set(rows[0]) >= {"a", "b", "P(expected) · a"}
    assert cache.get(str(tiny_model_dir)) is cache.get(str(tiny_model_dir))  # loaded once


def test_no_expected_answer_no_probability_and_a_missing_model_is_a_message(
    tiny_model_dir, tmp_path
):
    cache = playground.ModelCache(tmp_path)
    config = EvalConfig(max_new_tokens=3)
    decoding = playground.Decoding({"a": str(tiny_model_dir)}, PROMPTS[:1], "", config)
    assert finished(decoding.start(cache)).results[0].probability is None
    broken = playground.Decoding({"gone": str(tmp_path / "nothing")}, PROMPTS[:1])
    broken = finished(broken.start(cache))
    assert broken.results == [] and broken.error.startswith("gone: ")
    with pytest.raises(UnlearnError, match="at least one model"):
        playground.Decoding({}, PROMPTS).start(cache)
    with pytest.raises(UnlearnError, match="Type a prompt"):
        playground.Decoding({"a": "x"}, ["  "]).start(cache)


def test_prompts_typed_in_one_box_are_split_at_blank_lines():
    typed = "First prompt\nstill first\n\n\n  Second  \n\n"
    assert playground.split_prompts(typed) == ["First prompt\nstill first", "Second"]
    assert playground.split_prompts("  \n\n ") == []
