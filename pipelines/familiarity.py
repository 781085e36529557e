"""Measures used to judge unlearning: probability familiarity on prompts, perplexity on text."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from pipelines.training import token_blocks


@torch.no_grad()
def answer_probability(model, tokenizer, prompt: str, answer: str, device: str = "cpu") -> float:
    """Probability of the first token of the answer right after the prompt."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(prompt + " " + answer, add_special_tokens=False)["input_ids"]
    first = full_ids[len(prompt_ids)]
    logits = model(input_ids=torch.tensor([prompt_ids], device=device)).logits[0, -1]
    return float(torch.softmax(logits.float(), -1)[first])


def probability_familiarity(
    model, tokenizer, prompts: Sequence[dict], device: str = "cpu"
) -> float:
    """Mean first-token probability of the expected answers (lower = less familiar)."""
    probs = [
        answer_probability(model, tokenizer, p["prompt"], p["answer"], device) for p in prompts
    ]
    return sum(probs) / len(probs)


@torch.no_grad()
def perplexity(
    model, tokenizer, texts: Sequence[str], block_tokens: int = 256, device="cpu"
) -> float:
    total_loss = total_tokens = 0.0
    for block in token_blocks(tokenizer, texts, block_tokens):
        ids = torch.tensor([block], device=device)
        loss = model(input_ids=ids, labels=ids).loss
        total_loss += float(loss) * (len(block) - 1)
        total_tokens += len(block) - 1
    return math.exp(total_loss / total_tokens)
