"""MUSE's metrics (Shi et al., 2024): verbatim memorisation, knowledge memorisation, privacy leak.

- VerbMem: ROUGE-L F1 between a model's greedy continuation of a forget excerpt's opening and
  the excerpt's true continuation.
- KnowMem: ROUGE-L recall of a model's answers to question-answer pairs about the forget text
  (lower is better) and about what must be kept (higher is better), asked with a few-shot prompt.
- PrivLeak: how well Min-K% probability tells forget text from held-out text (ROC AUC), relative
  to a reference model's AUC: (AUC − AUC_ref) / AUC_ref. Near 0 is what a model that never saw
  the text would show; large positive values mean the text still looks memorised.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from rouge_score import rouge_scorer
from sklearn.metrics import roc_auc_score

from pipelines.evaluation.qa import QAPair
from pipelines.shards import shared_map
from pipelines.training.loop import pad_id_of, token_blocks

IDEAL_AUC = 0.5  # the reference when no retrained model exists: chance


@dataclass(frozen=True)
class MuseConfig:
    excerpts: int = 16  # VerbMem: forget excerpts continued
    prefix_tokens: int = 32  # VerbMem: the opening the model is given
    continuation_tokens: int = 128  # VerbMem: greedy tokens compared with the true continuation
    shots: int = 3  # KnowMem: question-answer examples before each question
    answer_tokens: int = 32  # KnowMem: greedy tokens of an answer, cut at its first line break
    min_k: float = 0.4  # PrivLeak: the lowest share of token log-probabilities averaged
    leak_texts: int = 32  # PrivLeak: forget and held-out blocks each
    leak_tokens: int = 128  # PrivLeak: tokens per block
    batch_size: int = 32  # greedy decoding is memory-bound: 32 sequences cost about what 8 do
    seed: int = 0


def rouge_l(prediction: str, reference: str) -> tuple[float, float]:
    """(F1, recall) of ROUGE-L, with rouge-score's tokenizer and stemming."""
    score = _SCORER.score(reference, prediction)["rougeL"]
    return score.fmeasure, score.recall


_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def forget_excerpts(tokenizer, texts: Sequence[str], config: MuseConfig) -> list[list[int]]:
    """A seeded sample of whole blocks of opening + continuation tokens from the forget text."""
    size = len(_lead(tokenizer)) + config.prefix_tokens + config.continuation_tokens
    blocks = [b for b in token_blocks(tokenizer, texts, size) if len(b) == size]
    return random.Random(config.seed).sample(blocks, min(config.excerpts, len(blocks)))


def _lead(tokenizer) -> list[int]:
    from pipelines.tokens import leading_ids

    return leading_ids(tokenizer)


@torch.no_grad()
def verbmem(model, tokenizer, excerpts: Sequence[list[int]], config: MuseConfig) -> float | None:
    """Mean ROUGE-L F1 of greedy continuations against the true ones (0 forgotten, 1 verbatim)."""
    if not excerpts:
        return None
    cut = len(_lead(tokenizer)) + config.prefix_tokens

    def batch_scores(_index: int, batch: Sequence[list[int]]) -> list[float]:
        ids = torch.tensor([b[:cut] for b in batch], device=model.device)
        generated = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=config.continuation_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad_id_of(tokenizer),
        )[:, cut:]
        return [
            rouge_l(
                tokenizer.decode(new, skip_special_tokens=True),
                tokenizer.decode(block[cut:], skip_special_tokens=True),
            )[0]
            for block, new in zip(batch, generated, strict=True)
        ]

    scores = shared_map(batch_scores, list(excerpts), config.batch_size)
    return sum(scores) / len(scores)


def few_shot_prompt(pair: QAPair, examples: Sequence[QAPair]) -> str:
    shown = "".join(f"Question: {e.question}\nAnswer: {e.answer}\n\n" for e in examples)
    return f"{shown}Question: {pair.question}\nAnswer:"


def knowmem(model, tokenizer, pairs: Sequence[QAPair], config: MuseConfig) -> float | None:
    """Mean ROUGE-L recall of the model's answers; each question follows `shots` other pairs of
    its own set, so the format is shown without giving its answer away."""
    if not pairs:
        return None
    from pipelines.evaluation.evaluate import EvalConfig, complete

    prompts = []
    for index, pair in enumerate(pairs):
        others = [p for i, p in enumerate(pairs) if i != index and p.answer != pair.answer]
        prompts.append(few_shot_prompt(pair, others[: config.shots]))
    answers = complete(
        model,
        tokenizer,
        prompts,
        EvalConfig(max_new_tokens=config.answer_tokens, batch_size=config.batch_size),
    )
    recalls = [
        rouge_l(answer.strip().split("\n")[0], pair.answer)[1]
        for answer, pair in zip(answers, pairs, strict=True)
    ]
    return sum(recalls) / len(recalls)


@torch.no_grad()
def min_k_scores(model, tokenizer, blocks: Sequence[list[int]], k: float, batch_size: int = 8):
    """Min-K% probability per block: the mean of its lowest k share of token log-probabilities
    (higher = more likely seen in training)."""
    pad = pad_id_of(tokenizer)

    def batch_scores(_index: int, batch: Sequence[list[int]]) -> list[float]:
        width = max(len(b) for b in batch)
        ids = torch.tensor([b + [pad] * (width - len(b)) for b in batch], device=model.device)
        mask = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch])
        logits = model(input_ids=ids, attention_mask=mask.to(model.device)).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
        scores = []
        for row, block in enumerate(batch):
            values = logprobs[row, : len(block) - 1].sort().values
            scores.append(float(values[: max(1, math.ceil(k * len(values)))].mean()))
        return scores

    return shared_map(batch_scores, list(blocks), batch_size)


def leak_blocks(tokenizer, texts: Sequence[str], config: MuseConfig) -> list[list[int]]:
    """A seeded sample of the texts' blocks for the membership test."""
    blocks = token_blocks(tokenizer, texts, config.leak_tokens)
    return random.Random(config.seed).sample(blocks, min(config.leak_texts, len(blocks)))


def membership_auc(model, tokenizer, members, non_members, config: MuseConfig) -> float | None:
    """ROC AUC of Min-K% telling forget blocks (members) from held-out ones; None without both."""
    if not members or not non_members:
        return None
    scores = min_k_scores(model, tokenizer, [*members, *non_members], config.min_k)
    truth = [1] * len(members) + [0] * len(non_members)
    return float(roc_auc_score(truth, scores))


def privleak(auc: float | None, reference_auc: float | None) -> float | None:
    """(AUC − AUC_ref) / AUC_ref: 0 where the model is as unaware as the reference."""
    if auc is None or not reference_auc:
        return None
    return (auc - reference_auc) / reference_auc


@dataclass
class MuseInputs:
    """What every model is measured on, built once per evaluation."""

    excerpts: list[list[int]]
    qa: list[QAPair]
    members: list[list[int]]
    non_members: list[list[int]]


def inputs(tokenizer, forget: Sequence[str], held_out: Sequence[str], qa, config) -> MuseInputs:
    return MuseInputs(
        forget_excerpts(tokenizer, forget, config),
        list(qa),
        leak_blocks(tokenizer, forget, config),
        leak_blocks(tokenizer, held_out, config),
    )


def measure(model, tokenizer, given: MuseInputs, config: MuseConfig) -> dict:
    """One model's VerbMem, KnowMem on each QA set, and membership AUC (PrivLeak comes later,
    once the reference's AUC is known)."""
    model.eval()
    return {
        "verbmem": verbmem(model, tokenizer, given.excerpts, config),
        "knowmem_forget": knowmem(
            model, tokenizer, [p for p in given.qa if p.set == "forget"], config
        ),
        "knowmem_retain": knowmem(
            model, tokenizer, [p for p in given.qa if p.set == "retain"], config
        ),
        "auc": membership_auc(model, tokenizer, given.members, given.non_members, config),
    }
