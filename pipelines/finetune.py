"""WHP step 7 and its baselines: the unlearning fine-tune by a registered objective."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pipelines import model_card, objectives
from pipelines.generic_labels import load_block
from pipelines.training import (
    IGNORE,
    Example,
    TrainConfig,
    TrainControl,
    TrainResult,
    language_modeling_examples,
    pad_id_of,
    save_model,
    split_held_out,
    token_blocks,
    train,
)

# Per-method starting points from DESIGN.md's measurements (ascent-type methods need a low lr).
DEFAULT_LR = {"whp": 3e-5, "grad_ascent": 1e-5, "grad_diff": 1e-5, "npo": 1e-5}


@dataclass(frozen=True)
class UnlearnConfig:
    method: str = "whp"  # a name in objectives.OBJECTIVES
    retain_weight: float = 0.0  # whp: KL to the baseline on retain text; grad_diff: NLL weight
    npo_beta: float = 0.1
    block_tokens: int = 256  # forget blocks (ascent-type methods) and retain blocks
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


def forget_examples(tokenizer, texts: Sequence[str], block_tokens: int) -> list[Example]:
    """Plain language-modelling blocks of the forget text, for the ascent-type objectives."""
    return language_modeling_examples(token_blocks(tokenizer, texts, block_tokens))


def run(
    config: UnlearnConfig,
    examples: Sequence[Example],
    *,
    model,
    tokenizer,
    out_dir: Path,
    baseline=None,
    retain_texts: Sequence[str] = (),
    control: TrainControl | None = None,
    card_facts: dict | None = None,
) -> tuple[object, TrainResult]:
    """Fine-tune `model` in place with the configured objective and save it with a model card."""
    objective = objectives.get(config.method)
    pad = pad_id_of(tokenizer)
    if config.method == "npo":
        examples = objectives.with_reference_logps(model, examples, pad, model.device)
    inputs = objectives.ObjectiveInputs(
        soft=bool(examples) and examples[0].soft_ids is not None,
        retain_blocks=token_blocks(tokenizer, retain_texts, config.block_tokens),
        retain_weight=config.retain_weight,
        npo_beta=config.npo_beta,
        baseline=baseline,
    )
    loss_fn, eval_fn = objective.build(inputs)
    train_set, held_out = split_held_out(examples, config.train.eval_fraction, config.train.seed)
    trained, result = train(
        model,
        train_set,
        config.train,
        pad_id=pad,
        loss_fn=loss_fn,
        eval_examples=held_out,
        eval_loss_fn=eval_fn,
        control=control,
    )
    facts = {"stage": "unlearn", "method": f"{objective.name}: {objective.summary}"}
    facts |= card_facts or {}
    card = model_card.render("Unlearned model", facts, asdict(config))
    curve = [[step, found] for step, found in result.probes]
    save_model(trained, tokenizer, out_dir, card, config=asdict(config), probes=curve, **facts)
    return trained, result
