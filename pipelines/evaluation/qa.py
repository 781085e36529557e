"""Question-answer pairs for KnowMem: about the forget text, and about what must be kept.

They come from a JSONL file, from people on the Runs page, from the LLM (written from passages,
answers checked against them), or, in the demo world, from its own facts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field

from pipelines import strict_json
from pipelines.evaluation.evaluate import sample_passages
from pipelines.types import UnlearnError

QA_SETS = ("forget", "retain")


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    set: str = "forget"  # forget: should be forgotten; retain: must be kept


def read_qa(data: bytes, name: str = "qa.jsonl") -> list[QAPair]:
    """JSONL lines with `question`, `answer` and `set` (forget or retain); errors name the line."""
    pairs = []
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        row = strict_json.loads(line, f"{name} line {number}")
        if not isinstance(row, dict):
            raise UnlearnError(f"{name} line {number}: a line is one JSON object.")
        pairs.append(qa_pair(row, f"{name} line {number}"))
    if not pairs:
        raise UnlearnError(f"{name} has no question-answer pairs.")
    return pairs


def qa_pair(row: dict, where: str) -> QAPair:
    """One checked pair: non-empty string question and answer, and a known set."""
    question, answer = row.get("question"), row.get("answer")
    if not isinstance(question, str) or not question.strip():
        raise UnlearnError(f"{where}: needs a non-empty string 'question'.")
    if not isinstance(answer, str) or not answer.strip():
        raise UnlearnError(f"{where}: needs a non-empty string 'answer'.")
    which = row.get("set", "forget")
    if which not in QA_SETS:
        raise UnlearnError(f"{where}: 'set' is forget or retain, not {which!r}.")
    return QAPair(question.strip(), answer.strip(), which)


def write_qa(pairs: Sequence[QAPair]) -> bytes:
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in pairs).encode()


class WrittenPair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=5, max_length=500)
    answer: str = Field(min_length=1, max_length=80)


class WrittenPairs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pairs: list[WrittenPair]


QA_SYSTEM = (
    "You write quiz questions that test whether someone knows a text. From the passage, write up "
    "to {n} questions, each answerable from the passage alone with a short answer (one to five "
    "words, exactly as the passage writes it). A question must not contain its answer."
)


def llm_pairs(
    client, texts: Sequence[str], which: str, passages: int = 8, per_passage: int = 3, seed=0
) -> tuple[list[QAPair], list[str]]:
    """Pairs the LLM writes from random passages; an answer must be in its passage."""
    from pipelines.llm import LLMFailure

    pairs, failures = [], []
    for start, passage in sample_passages(texts, passages, seed):
        try:
            reply, _ = client.structured(
                "eval.qa", QA_SYSTEM.format(n=per_passage), passage, WrittenPairs
            )
        except LLMFailure as err:
            failures.append(f"passage at {start}: {err}")
            continue
        for item in reply.pairs[:per_passage]:
            if item.answer.lower() in item.question.lower():
                failures.append(f"{item.question[:40]!r}: the question contains its answer")
            elif item.answer.lower() not in passage.lower():
                failures.append(f"{item.answer!r} is not in the passage")
            else:
                pairs.append(QAPair(item.question, item.answer, which))
    return pairs, failures
