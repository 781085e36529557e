"""Unlearning objectives: small loss functions registered by name (whp and baselines)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from pipelines.training.loop import IGNORE, Batch, Example, LossFn, collate, cross_entropy_loss


@dataclass(frozen=True)
class Objective:
    """A training loss plus what it trains on: generic labels or the forget text itself."""

    name: str
    data: str  # "labels" (a WHP label set) or "forget" (plain forget-corpus blocks)
    summary: str
    build: Callable[[ObjectiveInputs], tuple[LossFn, LossFn]]  # (train loss, held-out loss)


@dataclass
class ObjectiveInputs:
    soft: bool  # the label set carries top-k soft targets
    retain_blocks: Sequence[list[int]]
    retain_weight: float
    npo_beta: float
    baseline: object = None  # frozen reference model (the whp retain term, UNDIAL's teacher)
    simnpo_beta: float = 2.5
    simnpo_gamma: float = 0.0
    undial_strength: float = 10.0


OBJECTIVES: dict[str, Objective] = {}


def register(name: str, data: str, summary: str):
    def wrap(build):
        OBJECTIVES[name] = Objective(name, data, summary, build)
        return build

    return wrap


def soft_cross_entropy(model, batch: Batch) -> torch.Tensor:
    """−Σ p_k log q(id_k) at every labelled position, with the top-k soft targets."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    rows, positions, ids, probs = [], [], [], []
    for row, example in enumerate(batch.examples):
        # soft row i is the target of token i+1, predicted at position i
        kept = np.flatnonzero(example.soft_probs.sum(-1) > 0)
        rows.append(np.full(kept.size, row))
        positions.append(kept)
        ids.append(example.soft_ids[kept])
        probs.append(example.soft_probs[kept])
    device = logits.device

    # One gather of the labelled rows for the whole batch: picking row by row from a full
    # [batch, length, vocabulary] log-softmax costs a full-size gradient buffer per row.
    def tensor(parts):
        return torch.as_tensor(np.concatenate(parts), device=device)

    log_q = torch.log_softmax(logits[tensor(rows), tensor(positions)].float(), -1)
    targets, weights = tensor(ids).long(), tensor(probs).float()
    return -(weights * log_q.gather(1, targets)).sum(-1).mean()


def sequence_logps(model, batch: Batch) -> torch.Tensor:
    """Sum of log p(token) over each row's labelled tokens."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    targets = batch.labels[:, 1:]
    log_p = torch.log_softmax(logits[:, :-1].float(), -1)
    picked = log_p.gather(2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * (targets != IGNORE)).sum(-1)


def _retain_cycle(blocks: Sequence[list[int]]):
    if not blocks:
        raise ValueError("this objective needs retain text: add retain documents to the project")
    return itertools.cycle(blocks)


def _retain_batch(blocks, device) -> Batch:
    block = next(blocks)
    return collate([Example(block, list(block))], 0, device)  # one row: nothing to pad


def _retain_kl(model, baseline, batch: Batch) -> torch.Tensor:
    """KL(baseline ‖ model) per token on one retain block."""
    with torch.no_grad():
        reference = torch.log_softmax(baseline(input_ids=batch.input_ids).logits.float(), -1)
    current = torch.log_softmax(model(input_ids=batch.input_ids).logits.float(), -1)
    kl = F.kl_div(current, reference, log_target=True, reduction="batchmean")
    return kl / batch.input_ids.shape[1]


@register("whp", "labels", "cross-entropy on the generic labels (Who's Harry Potter?)")
def _whp(inputs: ObjectiveInputs):
    base = soft_cross_entropy if inputs.soft else cross_entropy_loss
    if inputs.retain_weight <= 0:
        return base, base
    blocks = _retain_cycle(inputs.retain_blocks)

    def with_retain(model, batch: Batch) -> torch.Tensor:
        retain = _retain_batch(blocks, batch.input_ids.device)
        kl = _retain_kl(model, inputs.baseline, retain)
        return base(model, batch) + inputs.retain_weight * kl

    return with_retain, base


def _negative_nll(model, batch: Batch) -> torch.Tensor:
    return -cross_entropy_loss(model, batch)


@register("grad_ascent", "forget", "gradient ascent on the forget text")
def _grad_ascent(_inputs: ObjectiveInputs):
    return _negative_nll, cross_entropy_loss


@register("grad_diff", "forget", "ascent on the forget text, descent on the retain text")
def _grad_diff(inputs: ObjectiveInputs):
    with_retain = replace(inputs, retain_weight=inputs.retain_weight or 1.0)  # never without
    return _plus_retain_nll(_negative_nll, with_retain), cross_entropy_loss


@register("npo", "forget", "negative preference optimization against the starting model")
def _npo(inputs: ObjectiveInputs):
    beta = inputs.npo_beta

    def loss(model, batch: Batch) -> torch.Tensor:
        reference = torch.tensor([e.ref_logp for e in batch.examples], device=batch.labels.device)
        ratio = sequence_logps(model, batch) - reference
        return -(2.0 / beta) * F.logsigmoid(-beta * ratio).mean()

    return loss, cross_entropy_loss


def _plus_retain_nll(forget_loss: LossFn, inputs: ObjectiveInputs) -> LossFn:
    """forget_loss, plus retain_weight × NLL on a retain block when a weight is given."""
    if not inputs.retain_weight:
        return forget_loss
    blocks = _retain_cycle(inputs.retain_blocks)

    def loss(model, batch: Batch) -> torch.Tensor:
        retain = _retain_batch(blocks, batch.input_ids.device)
        return forget_loss(model, batch) + inputs.retain_weight * cross_entropy_loss(model, retain)

    return loss


@register("simnpo", "forget", "SimNPO: NPO without a reference model, length-normalised")
def _simnpo(inputs: ObjectiveInputs):
    """−(2/β) log σ(−(β/|y|) log p(y) − γ) per forget block (Fan et al., 2024)."""
    beta, gamma = inputs.simnpo_beta, inputs.simnpo_gamma

    def forget(model, batch: Batch) -> torch.Tensor:
        lengths = (batch.labels[:, 1:] != IGNORE).sum(-1).clamp(min=1)
        mean_logp = sequence_logps(model, batch) / lengths
        return -(2.0 / beta) * F.logsigmoid(-beta * mean_logp - gamma).mean()

    return _plus_retain_nll(forget, inputs), cross_entropy_loss


@register("undial", "forget", "UNDIAL: self-distillation on logits with the true token pushed down")
def _undial(inputs: ObjectiveInputs):
    """Cross-entropy to the frozen starting model's distribution after subtracting `strength`
    from the logit of each true next token (Dong et al., 2024): a bounded target, never ascent."""
    strength, teacher = inputs.undial_strength, inputs.baseline
    if teacher is None:
        raise ValueError("undial needs the starting model as its teacher")

    def forget(model, batch: Batch) -> torch.Tensor:
        targets = batch.labels[:, 1:]
        kept = targets != IGNORE
        with torch.no_grad():
            adjusted = teacher(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            adjusted = adjusted.logits[:, :-1].float()
            adjusted.scatter_add_(
                2, targets.clamp(min=0).unsqueeze(-1),
                torch.full_like(targets, -strength, dtype=adjusted.dtype).unsqueeze(-1),
            )  # fmt: skip
            wanted = torch.softmax(adjusted[kept], -1)
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        log_q = torch.log_softmax(logits[:, :-1][kept].float(), -1)
        return -(wanted * log_q).sum(-1).mean()

    return _plus_retain_nll(forget, inputs), cross_entropy_loss


def needs_teacher(method: str, retain_weight: float) -> bool:
    """Whether the objective reads the frozen starting model while it trains."""
    return method == "undial" or (method == "whp" and retain_weight > 0)


def with_reference_logps(model, examples: Sequence[Example], pad_id: int, device) -> list[Example]:
    """NPO's reference: each example's log-probability under the model before training."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(examples), 4):
            chunk = examples[i : i + 4]
            logps = sequence_logps(model.to(device), collate(chunk, pad_id, device))
            out += [replace(e, ref_logp=float(lp)) for e, lp in zip(chunk, logps, strict=True)]
    return out


def get(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]
