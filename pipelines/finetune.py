"""WHP step 7: the unlearning fine-tune on generic labels, with an optional retain term."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from pipelines.generic_labels import IGNORE, load_block
from pipelines.training import (
    Batch,
    Example,
    TrainConfig,
    cross_entropy_loss,
    save_model,
    token_blocks,
    train,
)


@dataclass(frozen=True)
class UnlearnConfig:
    retain_weight: float = 0.0  # KL(baseline || model) on retain text, added per step
    block_tokens: int = 256  # for the retain blocks
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, lr=3e-5))


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


def soft_cross_entropy(model, batch: Batch) -> torch.Tensor:
    """−Σ p_k log q(id_k) at every labelled position, with the top-k soft targets."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    log_q = torch.log_softmax(logits.float(), -1)
    losses = []
    for row, example in enumerate(batch.examples):
        # soft row i is the target of token i+1, predicted at position i
        positions = np.flatnonzero(example.soft_probs.sum(-1) > 0)
        ids = torch.as_tensor(example.soft_ids[positions], device=log_q.device)
        probs = torch.as_tensor(example.soft_probs[positions], device=log_q.device)
        picked = log_q[row, torch.as_tensor(positions, device=log_q.device)].gather(1, ids)
        losses.append(-(probs * picked).sum(-1))
    return torch.cat(losses).mean()


def with_retain_term(loss_fn, baseline, retain: Sequence[list[int]], weight: float):
    """Add weight · KL(baseline ‖ model) on a retain block each step (cycling through them)."""
    blocks = itertools.cycle(retain)

    def combined(model, batch: Batch) -> torch.Tensor:
        ids = torch.tensor([next(blocks)], device=batch.input_ids.device)
        with torch.no_grad():
            reference = torch.log_softmax(baseline(input_ids=ids).logits.float(), -1)
        current = torch.log_softmax(model(input_ids=ids).logits.float(), -1)
        kl = torch.nn.functional.kl_div(current, reference, log_target=True, reduction="batchmean")
        return loss_fn(model, batch) + weight * kl / ids.shape[1]

    return combined


def run(
    config: UnlearnConfig,
    examples: Sequence[Example],
    *,
    model,
    tokenizer,
    out_dir: Path,
    baseline=None,
    retain_texts: Sequence[str] = (),
    device: str = "cpu",
    progress: Callable[[int, int, float], None] | None = None,
    record: dict | None = None,
):
    """Fine-tune `model` in place on the generic labels and save it; returns the losses."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    soft = examples and examples[0].soft_ids is not None
    loss_fn = soft_cross_entropy if soft else cross_entropy_loss
    if config.retain_weight > 0:
        retain = token_blocks(tokenizer, retain_texts, config.block_tokens)
        loss_fn = with_retain_term(loss_fn, baseline, retain, config.retain_weight)
    trained, losses = train(
        model, examples, config.train, pad_id=pad, device=device, progress=progress, loss_fn=loss_fn
    )
    save_model(
        trained,
        tokenizer,
        out_dir,
        stage="unlearn",
        method="whp",
        config=asdict(config),
        **(record or {}),
    )
    return trained, losses
