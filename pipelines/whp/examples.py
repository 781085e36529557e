"""A label set as training examples: from WHP's labels (steps 2-6) to its fine-tune (step 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.training.loop import IGNORE, Example
from pipelines.whp.labels import load_block


def _hf_labels(labels: np.ndarray) -> list[int]:
    """Ours: labels[i] is the label of token i+1. HF shifts inside the model: put it at i+1."""
    return [IGNORE, *labels[:-1].tolist()]


def _full_soft(block, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Soft targets as [len, k] arrays indexed by position; reviewed edits become one-hot."""
    kept = np.flatnonzero(block.labels != IGNORE)
    ids = np.zeros((len(labels), block.soft_ids.shape[1]), dtype=np.int64)
    probs = np.zeros(ids.shape, dtype=np.float32)
    ids[kept], probs[kept] = block.soft_ids, block.soft_probs.astype(np.float32)
    edited = np.flatnonzero((labels != block.labels) & (labels != IGNORE))
    ids[edited], probs[edited] = 0, 0.0
    ids[edited, 0], probs[edited, 0] = labels[edited], 1.0
    probs[labels == IGNORE] = 0.0  # rejected in review: out of the loss
    return ids, probs


def examples_from_label_set(label_dir: Path, exported: Path | None = None) -> list[Example]:
    """One example per block, with the review decisions of the export applied when given."""
    blocks, index = [], 0
    export = np.load(exported) if exported and exported.exists() else None
    while (label_dir / f"block_{index:06d}.npz").exists():
        block = load_block(label_dir, index)
        labels = block.labels
        if export is not None:
            start = int(export["block_starts"][index])
            labels = export["labels"][start : start + len(labels)]
        soft = _full_soft(block, labels) if block.soft_ids is not None else (None, None)
        blocks.append(Example(block.input_ids.tolist(), _hf_labels(labels), *soft))
        index += 1
    return blocks
