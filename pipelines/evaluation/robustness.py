"""Beyond WHP: does familiarity return under reframed, paraphrased or in-context prompts, or
after a few steps of fine-tuning on the forget text (the relearning probe)?"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict, Field

from pipelines.evaluation.evaluate import EvalPrompt
from pipelines.evaluation.familiarity import mean_answer_probability
from pipelines.training.loop import (
    TrainConfig,
    language_modeling_examples,
    pad_id_of,
    token_blocks,
    train,
)

# Offline reframings: the same prompt in a different frame, honest about not being paraphrases.
REFRAMES = (
    "Here is a passage from a story. Continue it.\n\n{prompt}",
    'Q: How does this passage go on? "{prompt} ..."\nA: {prompt}',
)


@dataclass(frozen=True)
class RobustnessConfig:
    relearn_steps: int = 8
    relearn_block_tokens: int = 128
    relearn_batch_size: int = 2
    relearn_lr: float = 3e-5
    context_chars: int = 400
    seed: int = 0


def reframed(prompts: Sequence[EvalPrompt]) -> list[EvalPrompt]:
    return [
        replace(p, prompt=frame.format(prompt=p.prompt), source="reframed")
        for p in prompts
        for frame in REFRAMES
    ]


def in_context(
    prompts: Sequence[EvalPrompt], forget_texts: Sequence[str], config: RobustnessConfig
) -> list[EvalPrompt]:
    """Each prompt after a forget-text passage that does not give the expected answer away."""
    rng = random.Random(config.seed)
    passages = [
        text[i : i + config.context_chars]
        for text in forget_texts
        for i in range(0, max(1, len(text) - config.context_chars), config.context_chars)
    ]
    out = []
    for p in prompts:
        usable = [c for c in passages if p.expected.lower() not in c.lower()]
        if usable:
            context = rng.choice(usable).strip()
            out.append(replace(p, prompt=f"{context}\n\n{p.prompt}", source="in-context"))
    return out


class Paraphrase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paraphrase: str = Field(min_length=5, max_length=2000)


PARAPHRASE_SYSTEM = (
    "Rewrite the passage in other words. Keep its meaning and make it end at the same point, so "
    "that the same next word would follow. Do not add the next word or any new facts."
)


def paraphrased(prompts: Sequence[EvalPrompt], client) -> tuple[list[EvalPrompt], list[str]]:
    """LLM paraphrases; a failed call or one that gives the answer away is skipped with a reason."""
    from pipelines.llm import LLMFailure

    out, failures = [], []
    for p in prompts:
        try:
            reply, _ = client.structured("paraphrase", PARAPHRASE_SYSTEM, p.prompt, Paraphrase)
        except LLMFailure as err:
            failures.append(f"{p.prompt[:40]!r}: {err}")
            continue
        if p.expected and p.expected.lower() in reply.paraphrase.lower():
            failures.append(f"{p.prompt[:40]!r}: the paraphrase gives the answer away")
            continue
        out.append(replace(p, prompt=reply.paraphrase, source="paraphrased"))
    return out, failures


def mean_probability(model, tokenizer, prompts: Sequence[EvalPrompt]) -> float | None:
    pairs = [(p.prompt, p.expected) for p in prompts if p.expected]
    return mean_answer_probability(model, tokenizer, pairs, str(model.device))


def relearned(model, tokenizer, forget_texts: Sequence[str], config: RobustnessConfig):
    """A copy of the model fine-tuned a few steps on the start of the forget text."""
    blocks = token_blocks(tokenizer, forget_texts, config.relearn_block_tokens)
    blocks = blocks[: config.relearn_steps * config.relearn_batch_size]
    train_config = TrainConfig(
        epochs=1, lr=config.relearn_lr, batch_size=config.relearn_batch_size, seed=config.seed
    )
    trained, _ = train(
        copy.deepcopy(model),
        language_modeling_examples(blocks),
        train_config,
        pad_id=pad_id_of(tokenizer),
    )
    return trained.eval()


def probe(
    model,
    tokenizer,
    prompts: Sequence[EvalPrompt],
    forget_texts: Sequence[str],
    config: RobustnessConfig,
    client=None,
) -> dict:
    """Probability familiarity under each attack; compare with the model's plain figure."""
    found = {
        "reframed_prob": mean_probability(model, tokenizer, reframed(prompts)),
        "in_context_prob": mean_probability(
            model, tokenizer, in_context(prompts, forget_texts, config)
        ),
    }
    if client is not None:
        paraphrases, failures = paraphrased(prompts, client)
        found["paraphrased_prob"] = mean_probability(model, tokenizer, paraphrases)
        found["paraphrase_failures"] = failures
    again = relearned(model, tokenizer, forget_texts, config)
    found["relearned_prob"] = mean_probability(again, tokenizer, prompts)
    found["relearn_steps"] = config.relearn_steps
    return found
