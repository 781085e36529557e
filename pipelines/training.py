"""The causal-LM training loop shared by the reinforce, teach and unlearning stages."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 2
    lr: float = 3e-5
    batch_size: int = 4
    lora: bool = False
    lora_rank: int = 16
    seed: int = 0


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]  # target for each position's *next* token is labels[i+1] (HF convention)
    soft_ids: object = None  # optional [len, k] token ids: soft target for the token at i+1
    soft_probs: object = None  # optional [len, k] probabilities matching soft_ids


@dataclass
class Batch:
    examples: Sequence[Example]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


LossFn = Callable[[object, Batch], torch.Tensor]


def cross_entropy_loss(model, batch: Batch) -> torch.Tensor:
    return model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels
    ).loss


def token_blocks(tokenizer, texts: Sequence[str], block_tokens: int) -> list[list[int]]:
    """Each document tokenized once and cut into windows of block_tokens (1-token tails dropped)."""
    blocks = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        blocks += [ids[i : i + block_tokens] for i in range(0, len(ids), block_tokens)]
    return [b for b in blocks if len(b) > 1]


def language_modeling_examples(blocks: Sequence[list[int]]) -> list[Example]:
    return [Example(b, list(b)) for b in blocks]


def _with_lora(model, rank: int):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def pad_batch(sequences: Sequence[list[int]], pad_id: int, device: str):
    """Right-padded ids and the attention mask that marks the real tokens."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def _collate(batch: Sequence[Example], pad_id: int, device: str) -> Batch:
    ids, mask = pad_batch([e.input_ids for e in batch], pad_id, device)
    labels, _ = pad_batch([e.labels for e in batch], IGNORE, device)
    return Batch(batch, ids, mask, labels)


def train(
    model,
    examples: Sequence[Example],
    config: TrainConfig,
    *,
    pad_id: int,
    device: str = "cpu",
    progress: Callable[[int, int, float], None] | None = None,
    loss_fn: LossFn = cross_entropy_loss,
):
    """Fine-tune in place with AdamW on cross-entropy; returns the (merged) model and losses."""
    torch.manual_seed(config.seed)
    if config.lora:
        model = _with_lora(model, config.lora_rank)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr)
    order = list(range(len(examples)))
    steps = config.epochs * -(-len(order) // config.batch_size)
    losses: list[float] = []
    for _epoch in range(config.epochs):
        random.Random(config.seed + _epoch).shuffle(order)
        for start in range(0, len(order), config.batch_size):
            batch = [examples[i] for i in order[start : start + config.batch_size]]
            loss = loss_fn(model, _collate(batch, pad_id, device))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            if progress:
                progress(len(losses), steps, losses[-1])
    model.eval()
    if config.lora:
        model = model.merge_and_unload()
    return model, losses


def save_model(model, tokenizer, out_dir: Path, **record) -> Path:
    """Save a loadable model folder atomically, with a JSON record of how it was made."""
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "unlearn_training.json").write_text(json.dumps(record, indent=1, default=str))
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    return out_dir
