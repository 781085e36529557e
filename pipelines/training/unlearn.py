"""WHP step 7 and its baselines: the unlearning fine-tune by a registered objective."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.config import check_choices, setting
from pipelines.corpus import general_retain
from pipelines.training import model_card, objectives
from pipelines.training.loop import (
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
from pipelines.training.selection import SelectionConfig

# Per-method starting points. Ascent-type methods need a low lr (DESIGN.md). whp: measured on a
# real book the model learned in pretraining (docs/benchmarks.md, "Defaults on the real book"):
# at lr 3e-5 for one epoch nothing moved; 2 epochs at 1e-4 with the retain term at weight 1
# forgot the most while keeping general knowledge, other fiction and perplexity within target.
DEFAULT_LR = {"whp": 1e-4, "grad_ascent": 1e-5, "grad_diff": 1e-5, "npo": 1e-5, "simnpo": 1e-5,
              "undial": 1e-5}  # fmt: skip
DEFAULT_EPOCHS = {"whp": 2}
DEFAULT_RETAIN_WEIGHT = {"whp": 1.0}  # where the project has retain text
# The same 2 epochs at 1e-4 on Gemma-3-270M forgot 96% but cost 31% of general knowledge and 43%
# of perplexity; at 3e-5 it cost 4.7% and 1.8% (forgetting 69%). From this size on, whp starts at
# the lower rate.
WHP_SMALLER_LR, WHP_SMALLER_LR_FROM = 3e-5, 200_000_000


def default_lr(method: str, parameters: int | None) -> float:
    """The starting learning rate of a method for a model of this many parameters."""
    if method == "whp" and parameters is not None and parameters >= WHP_SMALLER_LR_FROM:
        return WHP_SMALLER_LR
    return DEFAULT_LR.get(method, 3e-5)


@dataclass(frozen=True)
class UnlearnConfig:
    method: str = setting("whp", "The unlearning objective.", tuple(objectives.OBJECTIVES))
    retain_weight: float = setting(
        0.0,
        "Weight of the retain term (whp: KL to the baseline on retain text; grad_diff, simnpo, "
        "undial: NLL on retain text).",
        methods=("whp", "grad_diff", "simnpo", "undial"),
    )
    general_retain: str = setting(
        "beside", "The shipped general-knowledge and other-fiction text in the retain term: "
        "beside the project's retain text, instead of it, or none.",
        general_retain.MIXES, methods=("whp", "grad_diff", "simnpo", "undial"),
    )  # fmt: skip
    npo_beta: float = setting(0.1, "NPO's beta.", methods=("npo",))
    simnpo_beta: float = setting(
        2.5, "SimNPO's beta: how sharply the length-normalised log-likelihood is pushed down.",
        methods=("simnpo",),
    )  # fmt: skip
    simnpo_gamma: float = setting(0.0, "SimNPO's reward margin gamma.", methods=("simnpo",))
    undial_strength: float = setting(
        10.0, "UNDIAL: how far each true token's logit is pushed down in the teacher's targets.",
        methods=("undial",),
    )  # fmt: skip
    block_tokens: int = setting(256, "Tokens per forget block (ascent methods) and retain block.")
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=DEFAULT_EPOCHS["whp"], lr=DEFAULT_LR["whp"])
    )
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    def __post_init__(self):
        check_choices(self)


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
        simnpo_beta=config.simnpo_beta,
        simnpo_gamma=config.simnpo_gamma,
        undial_strength=config.undial_strength,
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
    if result.kept is not None:
        facts["checkpoint kept"] = result.kept.reason
    card = model_card.render("Unlearned model", facts, asdict(config))
    curve = [[step, found] for step, found in result.probes]
    save_model(trained, tokenizer, out_dir, card, config=asdict(config), probes=curve, **facts)
    return trained, result
