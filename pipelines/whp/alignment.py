"""Cut a corpus into token blocks and align each block's tokens with its translation's tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.tokens import leading_ids
from pipelines.whp.translate import Translation, Translator


@dataclass(frozen=True)
class Block:
    """A window of one document's tokens; offsets are relative to `text`."""

    index: int
    document: int
    ids: list[int]
    offsets: list[tuple[int, int]]
    text: str


@dataclass(frozen=True)
class AlignedBlock:
    block: Block
    translation: Translation
    translated_ids: list[int]
    align: np.ndarray  # per original position: translated position, or -1 without a counterpart
    target_in_anchor: np.ndarray  # per position i: token i+1 lies in an anchor occurrence
    target_in_repeat: np.ndarray  # per position i: token i+1 lies in a 2nd+ occurrence


def _tokenize(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]


def _led(lead: list[int], ids: list[int], offsets: list[tuple[int, int]]):
    """The ids led by the model's BOS (if any), which covers no text: offset (0, 0)."""
    return lead + ids, [(0, 0)] * len(lead) + offsets


def make_blocks(tokenizer, texts: Sequence[str], block_tokens: int) -> list[Block]:
    """Tokenize each document once and cut it into windows of at most block_tokens tokens,
    each led by the model's BOS where it has one."""
    lead = leading_ids(tokenizer)
    step = block_tokens - len(lead)
    blocks = []
    for doc, text in enumerate(texts):
        ids, offsets = _tokenize(tokenizer, text)
        for start in range(0, len(ids), step):
            window = offsets[start : start + step]
            if len(window) < 2:
                continue  # nothing to predict in a one-token tail
            base = window[0][0]
            local = [(a - base, b - base) for a, b in window]
            led_ids, led_offsets = _led(lead, ids[start : start + step], local)
            blocks.append(Block(len(blocks), doc, led_ids, led_offsets, text[base : window[-1][1]]))
    return blocks


def _targets_in(offsets, spans) -> np.ndarray:
    """For position i, whether token i+1 overlaps any of the (start, end) spans."""
    flags = np.zeros(len(offsets), dtype=bool)
    for i, (a, b) in enumerate(offsets[1:]):
        flags[i] = any(a < end and start < b for start, end in spans)
    return flags


def align_block(block: Block, translator: Translator, tokenizer) -> AlignedBlock:
    """Map each original position to the translated position that ends at the same text point.

    Tokens outside replaced spans meet one to one; the last token of an anchor meets the last
    token of its translation; tokens inside a multi-token anchor have no counterpart.
    """
    translation = translator.translate(block.text)
    lead = leading_ids(tokenizer)
    translated_ids, translated_offsets = _led(lead, *_tokenize(tokenizer, translation.text))
    by_end = {end: j for j, (_, end) in enumerate(translated_offsets)}
    align = np.full(len(block.ids), -1, dtype=np.int64)
    align[: len(lead)] = np.arange(len(lead))  # BOS meets BOS
    for i, (_, end) in enumerate(block.offsets[len(lead) :], start=len(lead)):
        mapped = translation.boundary_to_translated(end)
        if mapped is not None and mapped in by_end:
            align[i] = by_end[mapped]
    anchors = [(r.src_start, r.src_end) for r in translation.replacements]
    repeats = [(r.src_start, r.src_end) for r in translation.replacements if r.occurrence > 0]
    return AlignedBlock(
        block, translation, translated_ids, align,
        _targets_in(block.offsets, anchors), _targets_in(block.offsets, repeats),
    )  # fmt: skip


def word_start_ids(tokenizer, words: Iterable[str]) -> set[int]:
    """The token ids that would begin each word, at the start of a line or after a space."""
    return {
        tokenizer(form, add_special_tokens=False)["input_ids"][0]
        for word in words
        if word
        for form in (word, " " + word)
    }


def used_translation_starts(aligned: AlignedBlock, tokenizer) -> list[tuple[int, set[int]]]:
    """(first original position after a translation's first use, ids that would start it again)."""
    out = []
    for r in aligned.translation.replacements:
        if r.occurrence:
            continue
        starts = word_start_ids(tokenizer, [aligned.translation.text[r.dst_start : r.dst_end]])
        after = next((i for i, (a, _) in enumerate(aligned.block.offsets) if a >= r.src_end), None)
        if after is not None:
            out.append((max(after - 1, 0), starts))
    return out
