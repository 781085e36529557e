"""Measures used to judge unlearning: probability familiarity on prompts, perplexity on text."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from pipelines.shards import shared_map
from pipelines.tokens import leading_ids
from pipelines.training.loop import token_blocks


@torch.no_grad()
def answer_probability(model, tokenizer, prompt: str, answer: str, device: str = "cpu") -> float:
    """Probability of the first token of the answer right after the prompt."""
    return answer_probabilities(model, tokenizer, [(prompt, answer)], device)[0]


def _prompt_and_first_answer_token(tokenizer, prompt: str, answer: str) -> tuple[list[int], int]:
    lead = leading_ids(tokenizer)
    prompt_ids = lead + tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full_ids = lead + tokenizer(prompt + " " + answer, add_special_tokens=False)["input_ids"]
    return prompt_ids, full_ids[len(prompt_ids)]


@torch.no_grad()
def answer_probabilities(
    model, tokenizer, pairs: Sequence[tuple[str, str]], device: str = "cpu", batch: int = 16
) -> list[float]:
    """answer_probability for many (prompt, answer) pairs, right-padded in batches.

    Right padding leaves every real position as it is unpadded (attention is causal), so each
    value is read at its prompt's last token.
    """

    def batch_probabilities(_index: int, chosen: Sequence[tuple[str, str]]) -> list[float]:
        rows = [_prompt_and_first_answer_token(tokenizer, *p) for p in chosen]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.tensor([ids + [0] * (width - len(ids)) for ids, _ in rows], device=device)
        mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in rows], device=device)
        logits = model(input_ids=ids, attention_mask=mask).logits
        return [
            float(torch.softmax(logits[row, len(prompt_ids) - 1].float(), -1)[first])
            for row, (prompt_ids, first) in enumerate(rows)
        ]

    return shared_map(batch_probabilities, list(pairs), batch)


def mean_answer_probability(
    model, tokenizer, pairs: Sequence[tuple[str, str]], device: str = "cpu"
) -> float | None:
    """The mean of answer_probabilities (lower = less familiar); None without pairs."""
    if not pairs:
        return None
    return sum(answer_probabilities(model, tokenizer, pairs, device)) / len(pairs)


def probability_familiarity(
    model, tokenizer, prompts: Sequence[dict], device: str = "cpu"
) -> float:
    """Mean first-token probability of the expected answers (lower = less familiar)."""
    pairs = [(p["prompt"], p["answer"]) for p in prompts]
    return mean_answer_probability(model, tokenizer, pairs, device)


@torch.no_grad()
def perplexity(
    model, tokenizer, texts: Sequence[str], block_tokens: int = 256, device="cpu"
) -> float:

    def block_loss(_index: int, blocks: Sequence[list[int]]) -> list[tuple[float, int]]:
        ids = torch.tensor([blocks[0]], device=device)
        loss = model(input_ids=ids, labels=ids).loss
        return [(float(loss) * (len(blocks[0]) - 1), len(blocks[0]) - 1)]

    losses = shared_map(block_loss, token_blocks(tokenizer, texts, block_tokens), 1)
    return math.exp(sum(loss for loss, _ in losses) / sum(n for _, n in losses))
