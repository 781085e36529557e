"""Familiarity measures on the tiny model, against a direct computation."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.evaluation.familiarity import answer_probability, perplexity, probability_familiarity


def test_answer_probability_and_perplexity_match_direct_computation(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    prompt, answer = "Thumsath makes a home in the city of", "Ferkfell"
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    first = tok(prompt + " " + answer, add_special_tokens=False)["input_ids"][len(ids)]
    with torch.no_grad():
        direct = torch.softmax(model(torch.tensor([ids])).logits[0, -1], -1)[first]
    assert answer_probability(model, tok, prompt, answer) == pytest.approx(float(direct), rel=1e-5)
    prompts = [
        {"prompt": prompt, "answer": answer},
        {"prompt": "By trade, Thumsath is a", "answer": "cartographer"},
    ]
    expected = sum(answer_probability(model, tok, p["prompt"], p["answer"]) for p in prompts) / 2
    assert probability_familiarity(model, tok, prompts) == pytest.approx(expected, rel=1e-5)

    text = "The road was long, and the wind came down hard from the hills."
    text_ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        loss = model(input_ids=text_ids, labels=text_ids).loss
    assert math.isclose(perplexity(model, tok, [text]), math.exp(float(loss)), rel_tol=1e-5)


def test_batched_answer_probabilities_match_one_prompt_at_a_time(tiny_model_dir):
    from pipelines.evaluation.familiarity import answer_probabilities

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    pairs = [
        ("Thumsath makes a home in the city of", "Ferkfell"),
        ("By trade, Thumsath is a", "cartographer"),
        ("The road", "was"),
        ("Travellers crossing Desdo always stopped at the inn of", "Skoholm"),
    ]
    alone = []
    for prompt, answer in pairs:
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        first = tok(prompt + " " + answer, add_special_tokens=False)["input_ids"][len(ids)]
        with torch.no_grad():
            alone.append(float(torch.softmax(model(torch.tensor([ids])).logits[0, -1], -1)[first]))
    batched = answer_probabilities(model, tok, pairs, batch=3)  # one full batch, one partial
    assert batched == [pytest.approx(a, rel=1e-4) for a in alone]
    assert len(set(batched)) == len(pairs)
