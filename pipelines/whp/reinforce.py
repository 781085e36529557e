"""WHP step 1: the reinforced model, the baseline trained further on the forget corpus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.training import model_card
from pipelines.training.loop import (
    TrainConfig,
    TrainControl,
    language_modeling_examples,
    pad_id_of,
    save_model,
    split_held_out,
    token_blocks,
    train,
)

TITLES = {"reinforce": "Reinforced model", "teach": "Taught model"}


@dataclass(frozen=True)
class ReinforceConfig:
    block_tokens: int = 256
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=3, lr=3e-5))


@dataclass(frozen=True)
class ReinforceResult:
    model_dir: Path
    tokens: int
    losses: list[float]
    eval_losses: list[tuple[int, float]]


def run(
    config: ReinforceConfig,
    texts: Sequence[str],
    *,
    model,
    tokenizer,
    out_dir: Path,
    control: TrainControl | None = None,
    stage: str = "reinforce",
    card_facts: dict | None = None,
) -> ReinforceResult:
    """Train `model` (in place) on the texts as plain language modelling, then save it.

    The same run serves the demo's teach stage (stage="teach"): there the texts are what the
    base model should learn before it can be made to forget them.
    """
    blocks = token_blocks(tokenizer, texts, config.block_tokens)
    examples = language_modeling_examples(blocks)
    train_set, held_out = split_held_out(examples, config.train.eval_fraction, config.train.seed)
    trained, result = train(
        model,
        train_set,
        config.train,
        pad_id=pad_id_of(tokenizer),
        eval_examples=held_out,
        control=control,
    )
    tokens = sum(len(b) for b in blocks)
    facts = {"stage": stage, "training tokens": tokens} | (card_facts or {})
    card = model_card.render(TITLES[stage], facts, asdict(config))
    save_model(
        trained,
        tokenizer,
        out_dir,
        card,
        config=asdict(config),
        first_loss=result.losses[0],
        last_loss=result.losses[-1],
        **facts,
    )
    return ReinforceResult(out_dir, tokens, result.losses, result.eval_losses)
