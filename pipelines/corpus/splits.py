"""Held-out data no training stage sees: a seeded share of the retain text, for evaluation."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

HELD_OUT_FRACTION = 0.2


@dataclass(frozen=True)
class TextSplit:
    train: list[str]
    held_out: list[str]


def split_paragraphs(texts: Sequence[str], fraction: float = HELD_OUT_FRACTION, seed: int = 0):
    """Each paragraph goes to one side by its own seeded draw, so adding a document moves none."""
    train, held_out = [], []
    for doc, text in enumerate(texts):
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        picks = [
            random.Random(f"{seed}:{doc}:{i}").random() < fraction for i in range(len(paragraphs))
        ]
        if len(paragraphs) > 1 and not any(picks):
            picks[-1] = True  # every document with two paragraphs or more holds one out
        if all(picks) and len(paragraphs) > 1:
            picks[0] = False
        train.append("\n\n".join(p for p, out in zip(paragraphs, picks, strict=True) if not out))
        held_out.append("\n\n".join(p for p, out in zip(paragraphs, picks, strict=True) if out))
    return TextSplit([t for t in train if t], [t for t in held_out if t])
