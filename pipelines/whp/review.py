"""Project 2: group low-confidence labels into readable review items; apply reviewers' decisions."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from pipelines.training.loop import bf16_autocast
from pipelines.types import UnlearnError
from pipelines.whp.alignment import AlignedBlock, align_block, make_blocks
from pipelines.whp.labels import IGNORE, BlockLabels, LabelConfig, Models, load_block
from pipelines.whp.translate import Translator

ITEMS_FILE = "review_items.jsonl"
DECISIONS = ("accept", "reject", "edit")
WITHDRAW = "withdraw"  # a reviewer's undo of their own decision on an item


@dataclass(frozen=True)
class ReviewItem:
    id: int
    block: int
    positions: list[int]  # label positions covered (consecutive low-confidence labels)
    confidence: float  # the lowest among them
    before: str  # original text up to the labelled position
    original_next: str  # what the original says next
    translated_before: str  # the translated text up to the aligned position
    proposed: str  # the labelled tokens
    continuation: str  # a short greedy continuation after the proposal, for readability


def _group(positions: np.ndarray, gap: int = 2) -> list[list[int]]:
    groups: list[list[int]] = []
    for p in positions.tolist():
        if groups and p - groups[-1][-1] <= gap:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


@torch.no_grad()
def continuations(
    models: Models,
    prefixes: Sequence[list[int]],
    tokens: int,
    batch: int = 32,
    precision: str = "fp32",
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Greedy continuations of many prefixes, left-padded in batches (progress per batch)."""
    # Decoding a small model is memory-bound: a batch of 32 costs about what one prefix does.
    if tokens <= 0:
        return [""] * len(prefixes)
    pad = models.tokenizer.pad_token_id or 0
    out: list[str] = []
    batches = -(-len(prefixes) // batch)
    for start in range(0, len(prefixes), batch):
        if progress:
            progress(start // batch, batches)
        chunk = prefixes[start : start + batch]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        with bf16_autocast(precision, models.device):
            generated = models.baseline.generate(
                ids.to(models.device),
                attention_mask=mask.to(models.device),
                max_new_tokens=tokens,
                do_sample=False,
                pad_token_id=pad,
            )
        out += [models.tokenizer.decode(row[width:], skip_special_tokens=True) for row in generated]
    if progress:
        progress(batches, batches)
    return out


def _item(index, aligned: AlignedBlock, labels: BlockLabels, group, models, context):
    """The item without its continuation, and the prefix that continuation starts from."""
    tok, first, last = models.tokenizer, group[0], group[-1]
    offsets, ids = aligned.block.offsets, aligned.block.ids
    cut = offsets[first][1]
    j = int(aligned.align[first])
    span = list(range(first, last + 1))  # the whole stretch, so a decision covers what it shows
    proposed_ids = [
        int(labels.labels[p]) if labels.labels[p] != IGNORE else ids[p + 1] for p in span
    ]
    # A bounded prefix keeps each continuation cheap; it is only there for readability.
    prefix = aligned.translated_ids[max(0, j + 1 - context) : j + 1] + proposed_ids
    item = ReviewItem(
        id=index,
        block=aligned.block.index,
        positions=span,
        confidence=float(np.nanmin(labels.confidence[group])),
        before=aligned.block.text[max(0, offsets[max(0, first - context)][0]) : cut],
        original_next=tok.decode(ids[first + 1 : last + 4]),
        translated_before=tok.decode(aligned.translated_ids[max(0, j - context) : j + 1]),
        proposed=tok.decode(proposed_ids),
        continuation="",
    )
    return item, prefix


def build_review_items(
    config: LabelConfig,
    texts: Sequence[str],
    dictionary: Mapping[str, str],
    *,
    models: Models,
    label_dir: Path,
    threshold: float,
    context_tokens: int = 40,
    continuation_tokens: int = 6,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write review_items.jsonl: labels at or under the threshold, grouped, least sure first.
    Progress counts the batches of continuations, the slow part (finding the items is quick)."""
    translator = Translator(dictionary)
    items: list[ReviewItem] = []
    prefixes: list[list[int]] = []
    blocks = make_blocks(models.tokenizer, texts, config.block_tokens)
    for block in blocks:
        labels = load_block(label_dir, block.index)
        low = np.flatnonzero((labels.labels != IGNORE) & (labels.confidence <= threshold))
        if low.size == 0:
            continue
        aligned = align_block(block, translator, models.tokenizer)
        for group in _group(low):
            item, prefix = _item(len(items), aligned, labels, group, models, context_tokens)
            items.append(item)
            prefixes.append(prefix)
    continued = continuations(models, prefixes, continuation_tokens, precision=config.precision,
                              progress=progress)  # fmt: skip
    items = [replace(item, continuation=text) for item, text in zip(items, continued, strict=True)]
    items.sort(key=lambda item: item.confidence)
    lines = [json.dumps(asdict(item), ensure_ascii=False) for item in items]
    (label_dir / ITEMS_FILE).write_text("\n".join(lines) + ("\n" if lines else ""), "utf-8")
    return len(items)


def load_review_items(label_dir: Path) -> list[ReviewItem]:
    path = label_dir / ITEMS_FILE
    if not path.exists():
        return []
    return [ReviewItem(**json.loads(line)) for line in path.read_text("utf-8").splitlines()]


def matching(
    items: Sequence[ReviewItem], term: str = "", lowest: float = 0.0, highest: float = 1.0
) -> list[ReviewItem]:
    """The items a bulk decision would cover: the term (any case) in the book's next words or in
    the proposed label, and a confidence within [lowest, highest]."""
    needle = term.strip().lower()
    return [
        item
        for item in items
        if lowest <= item.confidence <= highest
        and (not needle or needle in item.original_next.lower() or needle in item.proposed.lower())
    ]


def confidence_steps(items: Sequence[ReviewItem]) -> list[float]:
    """Where a confidence range may start and end: 0, 1 and every item's confidence to two
    significant figures, so the steps are fine where the items are (most sit far below 0.01)."""
    return sorted({0.0, 1.0} | {float(f"{item.confidence:.2g}") for item in items})


def check_decision(payload: Mapping) -> dict:
    decision = payload.get("decision")
    if decision == WITHDRAW:
        return {"decision": WITHDRAW, "replacement": ""}
    if decision not in DECISIONS:
        raise UnlearnError(f"A review decision is one of {', '.join(DECISIONS)}.")
    if decision == "edit" and not str(payload.get("replacement", "")).strip():
        raise UnlearnError("An edit needs the replacement text.")
    return {"decision": decision, "replacement": str(payload.get("replacement", ""))}


def apply_decisions(
    labels: BlockLabels, items: Sequence[ReviewItem], decisions: Mapping[int, dict], tokenizer
) -> BlockLabels:
    """Rejected positions leave the loss; an edit's tokens become the labels of its positions."""
    out = np.array(labels.labels, copy=True)
    for item in items:
        decision = decisions.get(item.id)
        if decision is None or decision["decision"] == "accept":
            continue
        out[item.positions] = IGNORE
        if decision["decision"] == "edit":
            new = tokenizer(decision["replacement"], add_special_tokens=False)["input_ids"]
            for position, token in zip(item.positions, new, strict=False):
                out[position] = token
    return BlockLabels(
        labels.input_ids, out, labels.confidence, labels.changed, labels.soft_ids, labels.soft_probs
    )


def export_labels(
    label_dir: Path, decisions: Mapping[int, dict], tokenizer, out_path: Path
) -> dict:
    """One .npz of all blocks with the reviewers' decisions applied, ready for fine-tuning."""
    items = load_review_items(label_dir)
    by_block: dict[int, list[ReviewItem]] = {}
    for item in items:
        by_block.setdefault(item.block, []).append(item)
    summary = json.loads((label_dir / "summary.json").read_text())
    ids, labels, starts = [], [], []
    for index in range(summary["blocks"]):
        block = apply_decisions(
            load_block(label_dir, index), by_block.get(index, []), decisions, tokenizer
        )
        starts.append(sum(len(x) for x in ids))
        ids.append(block.input_ids)
        labels.append(block.labels)
    np.savez_compressed(
        out_path,
        input_ids=np.concatenate(ids),
        labels=np.concatenate(labels),
        block_starts=np.asarray(starts),
    )
    return {"items": len(items), "decided": len(decisions), **decision_counts(decisions)}


def decisions_in_force(rows: Sequence[tuple[int, int, dict]]) -> dict[int, tuple[int, dict]]:
    """Item -> (reviewer, decision) in force, from (item, reviewer, payload) rows oldest first:
    the newest decision, whoever made it; a withdrawal takes back only its author's decisions
    on the item, and the newest remaining one is in force again."""
    per_item: dict[int, list[tuple[int, dict]]] = {}
    for item, user, payload in rows:
        kept = per_item.setdefault(item, [])
        if payload["decision"] == WITHDRAW:
            kept[:] = [(u, p) for u, p in kept if u != user]
        else:
            kept.append((user, payload))
    return {item: kept[-1] for item, kept in per_item.items() if kept}


def decision_counts(decisions: Mapping[int, dict]) -> dict[str, int]:
    """How many items are accepted, rejected and edited under the decisions in force."""
    return {d: sum(1 for v in decisions.values() if v["decision"] == d) for d in DECISIONS}
