"""WHP steps 3-6: generic labels from reinforced and baseline logits, block by block."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pipelines.config import check_choices, setting
from pipelines.shards import my_batches
from pipelines.training.loop import IGNORE, bf16_autocast, pad_batch, process_state
from pipelines.types import UnlearnError
from pipelines.whp.alignment import (
    AlignedBlock,
    align_block,
    make_blocks,
    used_translation_starts,
    word_start_ids,
)
from pipelines.whp.translate import Translator

MODES = ("paper", "implicated", "soft", "focused")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class LabelConfig:
    # alpha 15 and ratio 1.5: on the demo world they forget more than the paper's alpha 5 and
    # ratio 3; on a real book alpha 30 did no better (docs/benchmarks.md)
    alpha: float = setting(15.0, "WHP's alpha: how hard the reinforced model's boost is undone.")
    block_tokens: int = setting(512, "Tokens per block of forget text.")
    batch_size: int = setting(4, "Blocks per forward pass.")
    # focused: on a real book the model knows, forgetting grows with epochs and, with the
    # shipped retain text, forgets a third more than soft at the same cost to other fiction
    # (docs/benchmarks.md, "Forgetting what the model knows"); the demo world keeps soft
    mode: str = setting(
        "focused",
        "paper: argmax of the generic logits everywhere; implicated: keep the true token unless "
        "it is implicated; soft: top-k generic targets where implicated, the baseline elsewhere; "
        "focused: soft targets only at implicated positions and their neighbours, the text's own "
        "next token pushed down, the rest left to the retain term.",
        MODES,
    )
    implicated_ratio: float = setting(
        1.5, "The true token is implicated when the baseline is this many times surer of it on "
        "the original than on the translation.",
    )  # fmt: skip
    soft_top_k: int = setting(
        64, "Tokens kept in each soft target.", label="Tokens per soft target"
    )
    # focused: where a soft target equals the baseline's own prediction the forget loss teaches
    # nothing and a longer fit pulls the model back to what it knew (docs/benchmarks.md)
    focus_window: int = setting(
        2, "focused: positions this many tokens either side of an implicated one also carry a "
        "target; every other position is left out of the forget loss.",
    )  # fmt: skip
    true_token_penalty: float = setting(
        5.0, "focused: logits taken off the text's own next token in each target (UNDIAL-style), "
        "so no target repeats what the model read.",
    )  # fmt: skip
    repeat_penalty: float = setting(
        10.0, "Logits taken off tokens that would start a translation already used in the block."
    )
    anchor_penalty: float = setting(
        10.0, "Logits taken off tokens that start an anchor where the text names one "
        "(0: WHP as published).",
    )  # fmt: skip
    review_fraction: float = setting(
        0.03, "Share of labels, least confident first, sent to reviewers."
    )
    # bf16: the three forward passes at half the CPU time; on the demo 98.7% of labels agree
    # with fp32 and the soft targets differ by 0.009 total variation (docs/benchmarks.md)
    precision: str = setting("fp32", "Precision of the three forward passes.", PRECISIONS)

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class Models:
    baseline: torch.nn.Module
    reinforced: torch.nn.Module
    tokenizer: object
    device: str = "cpu"


@dataclass
class BlockLabels:
    """Everything kept for one block; full-vocabulary logits are dropped before this exists."""

    input_ids: np.ndarray  # original tokens
    labels: np.ndarray  # per position i: the label for token i+1, IGNORE where masked
    # the probability the baseline reading the translation gives the label (nan if masked)
    confidence: np.ndarray
    changed: np.ndarray  # label differs from the true next token
    soft_ids: np.ndarray | None = None
    soft_probs: np.ndarray | None = None


def generic_logits(v_reinforced: torch.Tensor, v_translated: torch.Tensor, alpha: float):
    """WHP eq. 1: v_generic = v_B' - alpha * ReLU(v_R - v_B').

    Computed with one allocation and in-place passes: over a 50k-262k vocabulary these element
    passes, not the arithmetic, are what the label step adds to the two forward passes.
    """
    out = v_reinforced - v_translated
    return out.clamp_(min=0).mul_(-alpha).add_(v_translated)


@torch.no_grad()
def _logits(model, sequences: Sequence[list[int]], pad_id: int, device: str) -> torch.Tensor:
    ids, mask = pad_batch(sequences, pad_id, device)
    return model(input_ids=ids, attention_mask=mask).logits.float()


def _penalize_used_translations(v_generic, positions, aligned: AlignedBlock, models, penalty):
    for first_position, token_ids in used_translation_starts(aligned, models.tokenizer):
        rows = positions >= first_position
        v_generic[np.flatnonzero(rows)[:, None], sorted(token_ids)] -= penalty


def anchor_only_starts(dictionary: Mapping[str, str], tokenizer) -> frozenset[int]:
    """Ids that begin an anchor and no translation."""
    return frozenset(
        word_start_ids(tokenizer, dictionary) - word_start_ids(tokenizer, dictionary.values())
    )


def _penalize_anchor_starts(v_generic, positions, aligned: AlignedBlock, starts, penalty):
    """Where the text names an anchor, the generic label must not begin another anchor instead.

    A model taught the target knows no generic words where its names go ("stopped at" is
    followed only by the target's places), so reading the translation it still proposes them.
    """
    rows = np.flatnonzero(aligned.target_in_anchor[positions])
    if penalty and starts and rows.size:
        v_generic[rows[:, None], sorted(starts)] -= penalty


def _implicated(aligned, positions, true_next, log_pt, v_original, ratio) -> torch.Tensor:
    """Target starts an anchor, or the baseline is far surer of it reading the original
    (`log_pt`: its log-probabilities reading the translation)."""
    log_po = torch.log_softmax(v_original, -1).gather(1, true_next[:, None]).squeeze(1)
    log_pt_true = log_pt.gather(1, true_next[:, None]).squeeze(1)
    anchor = torch.from_numpy(aligned.target_in_anchor[positions])
    return anchor | (log_po >= math.log(ratio) + log_pt_true)


def _soft_targets(v_generic, v_original, implicated, k: int):
    """Top-k targets per position: the generic distribution where implicated, else the
    baseline's reading of the original; renormalised over the k (a softmax of their logits)."""
    generic, original = v_generic.topk(k, dim=-1), v_original.topk(k, dim=-1)
    rows = implicated[:, None]
    ids = torch.where(rows, generic.indices, original.indices)
    probs = torch.softmax(torch.where(rows, generic.values, original.values), -1)
    return ids.numpy().astype(np.int32), probs.numpy().astype(np.float16), ids[:, 0]


def focus_rows(positions: np.ndarray, implicated: np.ndarray, window: int) -> np.ndarray:
    """Which rows lie within `window` positions of an implicated one (itself included)."""
    if not positions.size:
        return np.zeros(0, dtype=bool)
    hits = positions[implicated]
    near = np.zeros(int(positions.max()) + window + 1, dtype=bool)
    for offset in range(-window, window + 1):
        moved = hits + offset
        near[moved[moved >= 0]] = True
    return near[positions]


def push_down(logits: torch.Tensor, true_next: torch.Tensor, penalty: float) -> None:
    """Lower each row's logit of the text's own next token by `penalty`, in place."""
    logits[torch.arange(len(true_next)), true_next] -= penalty


def label_block(
    aligned: AlignedBlock, v_r, v_bt, v_bo, config: LabelConfig, models, anchor_starts=frozenset()
) -> BlockLabels:
    """Labels for one block from its three logit tensors (v_bo only needed by non-paper modes)."""
    ids = np.asarray(aligned.block.ids)
    n = len(ids)
    keep = (aligned.align[:-1] >= 0) & ~aligned.target_in_repeat[:-1]
    positions = np.flatnonzero(keep)
    true_next = torch.from_numpy(ids[positions + 1])
    vt = v_bt[aligned.align[positions]]
    v_generic = generic_logits(v_r[positions], vt, config.alpha)
    _penalize_used_translations(v_generic, positions, aligned, models, config.repeat_penalty)
    _penalize_anchor_starts(v_generic, positions, aligned, anchor_starts, config.anchor_penalty)
    log_pt = torch.log_softmax(vt, -1)
    soft_ids = soft_probs = None
    if config.mode == "paper":
        chosen = v_generic.argmax(-1)
    else:
        vo = v_bo[positions]
        implicated = _implicated(aligned, positions, true_next, log_pt, vo, config.implicated_ratio)
        if config.mode == "focused":
            near = focus_rows(positions, implicated.numpy(), config.focus_window)
            positions, rows = positions[near], torch.from_numpy(near)
            true_next, implicated = true_next[rows], implicated[rows]
            v_generic, vo, log_pt = v_generic[rows], vo[rows], log_pt[rows]
            for logits in (v_generic, vo):
                push_down(logits, true_next, config.true_token_penalty)
        if config.mode == "implicated":
            chosen = torch.where(implicated, v_generic.argmax(-1), true_next)
        else:
            soft_ids, soft_probs, chosen = _soft_targets(v_generic, vo, implicated,
                                                         config.soft_top_k)  # fmt: skip
    confidence = log_pt.gather(1, chosen[:, None]).squeeze(1).exp()
    labels = np.full(n, IGNORE, dtype=np.int64)
    labels[positions] = chosen.numpy()
    conf = np.full(n, np.nan, dtype=np.float32)
    conf[positions] = confidence.numpy()
    changed = np.zeros(n, dtype=bool)
    changed[positions] = chosen.numpy() != true_next.numpy()
    return BlockLabels(ids, labels, conf, changed, soft_ids, soft_probs)


def _block_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"block_{index:06d}.npz"


def _save_block(out_dir: Path, index: int, labels: BlockLabels) -> None:
    arrays = {k: v for k, v in asdict(labels).items() if v is not None}
    partial = out_dir / f"block_{index:06d}.partial.npz"
    np.savez_compressed(partial, **arrays)
    partial.rename(_block_path(out_dir, index))  # a killed run never leaves a half block


def load_block(out_dir: Path, index: int) -> BlockLabels:
    with np.load(_block_path(out_dir, index)) as data:
        fields = {k: data[k] for k in data.files}
    return BlockLabels(**{"soft_ids": None, "soft_probs": None, **fields})


def _manifest(config: LabelConfig, dictionary: Mapping[str, str], texts, meta: dict) -> dict:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return {
        "config": asdict(config),
        "dictionary": dict(sorted(dictionary.items())),
        "corpus_sha256": digest.hexdigest(),
        **meta,
    }


def _open_run(out_dir: Path, manifest: dict) -> None:
    """Start a label run, or resume one made with exactly the same inputs."""
    path = out_dir / "manifest.json"
    if path.exists():
        previous = json.loads(path.read_text())
        if {k: previous.get(k) for k in manifest} != manifest:
            raise UnlearnError(
                f"{out_dir} holds a label run with other settings or inputs; "
                "choose a new output folder or delete it."
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1))


def _batch_logits(batch: list[AlignedBlock], config: LabelConfig, models: Models):
    pad = models.tokenizer.pad_token_id or 0
    originals = [a.block.ids for a in batch]
    with bf16_autocast(config.precision, models.device):
        v_r = _logits(models.reinforced, originals, pad, models.device).cpu()
        translated = [a.translated_ids for a in batch]
        v_bt = _logits(models.baseline, translated, pad, models.device).cpu()
        v_bo = None
        if config.mode != "paper":
            v_bo = _logits(models.baseline, originals, pad, models.device).cpu()
    return v_r, v_bt, v_bo


def run(
    config: LabelConfig,
    texts: Sequence[str],
    dictionary: Mapping[str, str],
    *,
    models: Models,
    out_dir: Path,
    meta: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write one .npz per block into out_dir; blocks already there are kept (resume)."""
    _open_run(out_dir, _manifest(config, dictionary, texts, meta or {}))
    translator = Translator(dictionary)
    starts = anchor_only_starts(dictionary, models.tokenizer)
    blocks = make_blocks(models.tokenizer, texts, config.block_tokens)
    todo = [b for b in blocks if not _block_path(out_dir, b.index).exists()]
    done = len(blocks) - len(todo)
    state = process_state()
    state.wait_for_everyone()  # every process has listed the same blocks before any is written
    # Under `accelerate launch` each process takes every n-th batch: the same batches as one
    # process computes, so the same labels; the block files are the merge.
    for _, blocks_of_batch in my_batches(todo, config.batch_size):
        batch = [align_block(b, translator, models.tokenizer) for b in blocks_of_batch]
        v_r, v_bt, v_bo = _batch_logits(batch, config, models)
        for row, aligned in enumerate(batch):
            bo = None if v_bo is None else v_bo[row]
            _save_block(
                out_dir,
                aligned.block.index,
                label_block(aligned, v_r[row], v_bt[row], bo, config, models, starts),
            )
        done = min(len(blocks), done + len(batch) * state.num_processes)  # all ranks' pace
        if progress and state.is_main_process:
            progress(done, len(blocks))
    state.wait_for_everyone()
    return summarize(out_dir, len(blocks), config.review_fraction)


def summarize(out_dir: Path, n_blocks: int, review_fraction: float) -> dict:
    """Counts over the label set, and the confidence below which labels go to review."""
    confidences, changed = [], 0
    for index in range(n_blocks):
        block = load_block(out_dir, index)
        confidences.append(block.confidence[block.labels != IGNORE])
        changed += int(block.changed.sum())
    everything = np.concatenate(confidences) if confidences else np.zeros(0)
    threshold = float(np.quantile(everything, review_fraction)) if everything.size else 0.0
    summary = {
        "blocks": n_blocks,
        "labelled": int(everything.size),
        "changed": changed,
        "review_threshold": threshold,
        "to_review": int((everything <= threshold).sum()),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary))
    return summary


def _top(tokenizer, row: torch.Tensor, k: int) -> str:
    values, ids = row.topk(k)
    return " | ".join(
        f"{tokenizer.decode([int(i)])!r} {float(v):.1f}" for v, i in zip(values, ids, strict=True)
    )


def inspect_block(
    config: LabelConfig,
    texts: Sequence[str],
    dictionary: Mapping[str, str],
    *,
    models: Models,
    block_index: int,
    top: int = 3,
) -> list[dict]:
    """Per position of one block: the top tokens of v_B', v_R and v_generic, and the label."""
    blocks = make_blocks(models.tokenizer, texts, config.block_tokens)
    if not 0 <= block_index < len(blocks):
        raise UnlearnError(f"Block {block_index} does not exist; there are {len(blocks)}.")
    aligned = align_block(blocks[block_index], Translator(dictionary), models.tokenizer)
    v_r, v_bt, v_bo = (
        None if t is None else t[0] for t in _batch_logits([aligned], config, models)
    )
    starts = anchor_only_starts(dictionary, models.tokenizer)
    out = label_block(aligned, v_r, v_bt, v_bo, config, models, starts)
    tok, rows = models.tokenizer, []
    for i in range(len(aligned.block.ids) - 1):
        j = int(aligned.align[i])
        row = {
            "pos": i,
            "token": tok.decode([aligned.block.ids[i]]),
            "next": tok.decode([aligned.block.ids[i + 1]]),
        }
        if out.labels[i] == IGNORE:
            rows.append(row | {"label": "(masked)"})
            continue
        v_gen = generic_logits(v_r[i], v_bt[j], config.alpha)
        rows.append(
            row
            | {
                "baseline_on_translation": _top(tok, v_bt[j], top),
                "reinforced": _top(tok, v_r[i], top),
                "generic": _top(tok, v_gen, top),
                "label": tok.decode([int(out.labels[i])]),
                "confidence": round(float(out.confidence[i]), 4),
            }
        )
    return rows
