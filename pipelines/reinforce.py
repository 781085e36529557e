"""WHP step 1: the reinforced model, the baseline trained further on the forget corpus."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.training import (
    TrainConfig,
    language_modeling_examples,
    save_model,
    token_blocks,
    train,
)


@dataclass(frozen=True)
class ReinforceConfig:
    block_tokens: int = 256
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=3, lr=3e-5))


@dataclass(frozen=True)
class ReinforceResult:
    model_dir: Path
    tokens: int
    losses: list[float]


def run(
    config: ReinforceConfig,
    texts: Sequence[str],
    *,
    model,
    tokenizer,
    out_dir: Path,
    device: str = "cpu",
    progress: Callable[[int, int, float], None] | None = None,
) -> ReinforceResult:
    """Train `model` (in place) on the texts as plain language modelling, then save it."""
    blocks = token_blocks(tokenizer, texts, config.block_tokens)
    examples = language_modeling_examples(blocks)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trained, losses = train(
        model, examples, config.train, pad_id=pad, device=device, progress=progress
    )
    tokens = sum(len(b) for b in blocks)
    save_model(
        trained,
        tokenizer,
        out_dir,
        stage="reinforce",
        config=asdict(config),
        tokens=tokens,
        first_loss=losses[0],
        last_loss=losses[-1],
    )
    return ReinforceResult(out_dir, tokens, losses)
