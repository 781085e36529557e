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
from pipelines.evaluation.evaluate import grounded_items
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

    def items(self) -> list[tuple[str, str]]:
        return [(p.question, p.answer) for p in self.pairs]


QA_SYSTEM = (
    "You write quiz questions that test whether someone knows a text. From the passage, write up "
    "to {n} questions, each answerable from the passage alone with a short answer (one to five "
    "words, exactly as the passage writes it). A question must not contain its answer."
)


def llm_pairs(
    client, texts: Sequence[str], which: str, passages: int = 8, per_passage: int = 3, seed=0
) -> tuple[list[QAPair], list[str]]:
    """Pairs the LLM writes from random passages; an answer must be in its passage."""
    system = QA_SYSTEM.format(n=per_passage)
    kept, failures = grounded_items(client, texts, "eval.qa", system, WrittenPairs, passages, seed)
    return [QAPair(question, answer, which) for question, answer in kept], failures
