"""Evaluation: prompts (anchor-cut or imported), completions, and each model's metrics."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from pydantic import BaseModel, ConfigDict, Field

from pipelines import strict_json
from pipelines.evaluation.familiarity import mean_answer_probability, perplexity
from pipelines.evaluation.judge import Verdict, familiarity_score
from pipelines.shards import shared_map
from pipelines.training.loop import is_main_process
from pipelines.types import UnlearnError


@dataclass(frozen=True)
class EvalPrompt:
    prompt: str
    expected: str = ""  # the target-specific continuation, for probability familiarity
    source: str = "import"  # import | anchor-cut
    split: str = "test"  # dev | test: tune on dev, report on test


@dataclass(frozen=True)
class EvalConfig:
    max_new_tokens: int = 24
    batch_size: int = 8
    sampled: bool = False  # also one sampled completion per prompt (temperature below)
    temperature: float = 0.8
    seed: int = 0
    retain_block_tokens: int = 256


@dataclass
class ModelResult:
    name: str
    completion_familiarity: float | None  # None in all but the main process
    prob_familiarity: float | None
    retain_ppl: float | None
    rows: list[dict] = field(default_factory=list)  # prompt, completion, verdict per prompt
    robustness: dict = field(default_factory=dict)  # see pipelines/robustness.py
    utility: dict = field(default_factory=dict)  # lm-eval task -> accuracy (pipelines/utility.py)
    muse: dict = field(default_factory=dict)  # verbmem, knowmem_*, auc, privleak (muse.py)
    quantised: dict = field(default_factory=dict)  # quant8_prob, quant4_prob (quantise.py)
    probes: dict = field(default_factory=dict)  # book_probes, general_probes, ... (cloze.py)


def anchor_cut_prompts(
    texts: Sequence[str], terms: Sequence[str], *, per_term: int = 2, context: int = 240, seed=0
) -> list[EvalPrompt]:
    """Passages cut just before an anchor term, inviting the model to say it (WHP's probes)."""
    rng = random.Random(seed)
    prompts = []
    for term in sorted(set(terms)):
        spots = [
            (text, m.start())
            for text in texts
            for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", text)
        ]
        for text, start in rng.sample(spots, min(per_term, len(spots))):
            prompt = _context_before(text, start, context)
            if len(prompt.split()) >= 5:
                prompts.append(EvalPrompt(prompt, term, "anchor-cut"))
    return prompts


def _context_before(text: str, end: int, size: int) -> str:
    """Up to `size` characters before `end`, starting at a sentence or word boundary."""
    window = text[max(0, end - size) : end]
    sentence = re.search(r"[.!?]\s+", window)
    if sentence and sentence.end() < len(window) - 20:
        window = window[sentence.end() :]
    elif end - size > 0 and " " in window:
        window = window[window.index(" ") + 1 :]
    return window.rstrip()


class BuiltPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=10, max_length=1000)
    expected: str = Field(min_length=1, max_length=80)


class BuiltPrompts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompts: list[BuiltPrompt]

    def items(self) -> list[tuple[str, str]]:
        return [(p.prompt, p.expected) for p in self.prompts]


PROMPT_SYSTEM = (
    "You write probes that test whether a language model remembers a text. From the passage, "
    "write up to {n} completion prompts: the opening of a sentence, in the passage's style, that "
    "someone who knows this text would complete with a name or detail unique to it. Give that "
    "detail as `expected` (one to three words, exactly as the passage writes it). A prompt must "
    "not contain its expected answer."
)


def sample_passages(texts: Sequence[str], count: int, seed: int = 0, size: int = 1200):
    """(start, passage) for a seeded sample of `count` passages of `size` characters."""
    rng = random.Random(seed)
    spots = [(t, i) for t in texts for i in range(0, max(1, len(t) - size), size)]
    return [(i, t[i : i + size]) for t, i in rng.sample(spots, min(count, len(spots)))]


def grounded_items(
    client,
    texts: Sequence[str],
    purpose: str,
    system: str,
    schema,
    passages: int,
    seed=0,
    size=1200,
) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, answer) items the LLM writes from sampled passages, each answer found in its
    passage and not in its text; a failed call or a refused item is a reason in the second list.

    `schema`'s reply has `items()`: the (text, answer) pairs it holds.
    """
    from pipelines.llm import LLMFailure

    kept, failures = [], []
    for start, passage in sample_passages(texts, passages, seed, size):
        try:
            reply, _ = client.structured(purpose, system, passage, schema)
        except LLMFailure as err:
            failures.append(f"passage at {start}: {err}")
            continue
        for text, answer in reply.items():
            if answer.lower() in text.lower():
                failures.append(f"{text[:40]!r}: it contains its answer")
            elif answer.lower() not in passage.lower():
                failures.append(f"{answer!r} is not in the passage")
            else:
                kept.append((text, answer))
    return kept, failures


def llm_prompts(
    client, texts: Sequence[str], passages: int = 10, per_passage: int = 3, seed=0, size=1200
) -> tuple[list[EvalPrompt], list[str]]:
    """WHP's probes: the LLM writes prompts from random forget passages; answers must be in them."""
    system = PROMPT_SYSTEM.format(n=per_passage)
    kept, failures = grounded_items(
        client, texts, "eval.prompts", system, BuiltPrompts, passages, seed, size
    )
    return [EvalPrompt(text, answer, "llm") for text, answer in kept], failures


def write_prompts(prompts: Sequence[EvalPrompt]) -> bytes:
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in prompts).encode()


def read_prompts(data: bytes, name: str = "prompts.jsonl") -> list[EvalPrompt]:
    """JSONL lines with `prompt` and an optional `expected` (or `answer`); errors name the line."""
    prompts = []
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        row = strict_json.loads(line, f"{name} line {number}")
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise UnlearnError(f"{name} line {number}: needs a string field 'prompt'.")
        expected = row.get("expected", row.get("answer", ""))
        source, split = str(row.get("source", "import")), str(row.get("split", "test"))
        prompts.append(EvalPrompt(row["prompt"], str(expected or ""), source, split))
    if not prompts:
        raise UnlearnError(f"{name} has no prompts.")
    return prompts


def with_split(prompts: Sequence[EvalPrompt], dev_fraction: float = 0.5, seed: int = 0):
    """Mark a seeded share of the prompts `dev`; reports use the `test` ones."""
    order = list(range(len(prompts)))
    random.Random(seed).shuffle(order)
    dev = set(order[: int(len(prompts) * dev_fraction)])
    return [
        EvalPrompt(p.prompt, p.expected, p.source, "dev" if i in dev else "test")
        for i, p in enumerate(prompts)
    ]


@torch.no_grad()
def complete(model, tokenizer, prompts: Sequence[str], config: EvalConfig, sample=False):
    """Batched continuations (greedy, or sampled with the config's temperature, seeded per
    batch); batches are shared out under several processes."""
    tokenizer.padding_side = "left"  # generation continues from the right edge
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def continue_batch(index: int, texts: Sequence[str]) -> list[str]:
        torch.manual_seed(config.seed + index)
        batch = tokenizer(list(texts), return_tensors="pt", padding=True).to(model.device)
        generated = model.generate(
            **batch,
            max_new_tokens=config.max_new_tokens,
            do_sample=sample,
            temperature=config.temperature if sample else None,
            top_p=None,
            top_k=None,
            pad_token_id=pad,
        )
        new = generated[:, batch["input_ids"].shape[1] :]
        return tokenizer.batch_decode(new, skip_special_tokens=True)

    return shared_map(continue_batch, list(prompts), config.batch_size)


def evaluate_model(
    name: str,
    model,
    tokenizer,
    prompts: Sequence[EvalPrompt],
    judge,
    retain_texts: Sequence[str],
    config: EvalConfig,
    progress: Callable[[str], None] | None = None,
) -> ModelResult:
    """One model's completions with verdicts, probability familiarity and retain perplexity."""
    model.eval()
    texts = [p.prompt for p in prompts]
    kinds = {"greedy": complete(model, tokenizer, texts, config)}
    if config.sampled:
        kinds["sampled"] = complete(model, tokenizer, texts, config, sample=True)
    rows = []
    for kind, completions in kinds.items():
        if not is_main_process():  # the report's process judges, once
            break
        for prompt, completion in zip(prompts, completions, strict=True):
            verdict: Verdict = judge.judge(prompt.prompt, completion, prompt.expected)
            rows.append(asdict(prompt) | {"kind": kind, "completion": completion} | asdict(verdict))
    if progress:
        progress(f"{name}: completions judged")
    device = str(model.device)
    pairs = [(p.prompt, p.expected) for p in prompts if p.expected]
    probability = mean_answer_probability(model, tokenizer, pairs, device)
    ppl = (
        perplexity(model, tokenizer, retain_texts, config.retain_block_tokens, device)
        if retain_texts
        else None
    )
    score = familiarity_score([r["category"] for r in rows]) if rows else None
    return ModelResult(name, score, probability, ppl, rows)
