"""Shared value types: roles, the acting user, and the errors users see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"
    ADMIN = "admin"


# The kinds of anchor term annotators label; a term's kind picks the kind of its translation.
ANCHOR_LABELS = ("PERSON", "PLACE", "ORG", "OBJECT", "EVENT", "CONCEPT", "OTHER")


class DocRole(StrEnum):
    FORGET = "forget"
    RETAIN = "retain"
    # Text like the forget text that no model was trained on: PrivLeak's non-members. Optional;
    # without it the held-out retain paragraphs stand in.
    HOLDOUT = "holdout"


@dataclass(frozen=True)
class Actor:
    """The person (or headless local user) on whose behalf a write happens."""

    user_id: int
    username: str
    role: Role


class UnlearnError(Exception):
    """An error whose message is meant for the person using the app or CLI."""


class PermissionDenied(UnlearnError):
    pass


class StaleEdit(UnlearnError):
    pass


class NotFound(UnlearnError):
    pass


class AuthError(UnlearnError):
    pass


class IngestError(UnlearnError):
    pass


class ModelLoadError(UnlearnError):
    pass


class ArtifactKind(StrEnum):
    """What a registered artefact is; the one list of kinds the store holds."""

    ANCHOR_PROPOSALS = "anchor_proposals"
    PROMPT_SET = "prompt_set"
    QA_SET = "qa_set"  # JSONL question-answer pairs for KnowMem (pipelines/evaluation/qa.py)
    PASSAGE_SET = "passage_set"  # JSONL passages the model wrote (pipelines/augment/passages.py)
    PROBE_SET = "probe_set"  # JSONL cloze and neighbour probes (pipelines/evaluation/cloze.py)
    TAUGHT = "taught_model"
    REINFORCED = "reinforced_model"
    LABEL_SET = "label_set"
    UNLEARNED = "unlearned_model"
    EVALUATION = "evaluation"
    REFERENCE_DICTIONARY = "reference_dictionary"  # a given dictionary, e.g. the demo's
    JUDGE_TERMS = "judge_terms"  # JSON list of {"term": ...} the rule judge counts as unique


@dataclass(frozen=True)
class CallRecord:
    cache_key: str
    purpose: str
    model: str
    request: dict
    reply: str | None
    ok: bool
    error: str | None
    attempts: int
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float


class CallLog(Protocol):
    """Where an LLM client logs its calls and finds cached replies (the store, in the app)."""

    def cached_reply(self, cache_key: str) -> str | None: ...

    def record(self, record: CallRecord) -> None: ...
