"""Forget text the model writes itself: passages about the book's people, places and events,
written by the base model (offline) or the LLM endpoint from the title and the dictionary."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from pydantic import BaseModel, ConfigDict, Field

from pipelines import strict_json
from pipelines.config import check_choices, setting
from pipelines.types import UnlearnError

SOURCES = ("model", "llm")
FORMATS = ("summary", "qa", "encyclopedia", "retelling")
STATUSES = ("pending", "approved", "rejected")
# What each format asks for; the base model continues the text, the LLM follows the instruction.
TEMPLATES = {
    "summary": ("A summary of the part {subject} plays in {title}.\n\n{subject}",
                "Write a short summary of the part {subject} plays in {title}."),
    "qa": ("Questions and answers about {title}.\n\nQ: Who or what is {subject} in {title}?\nA:",
           "Write three questions about {subject} in {title}, each with its answer."),
    "encyclopedia": ("{subject} ({title})\n\nFrom the encyclopedia of fiction. {subject} is",
                     "Write an encyclopedia entry on {subject}, from {title}."),
    "retelling": ("{title}, retold for children. Chapter: {subject}.\n\nOnce",
                  "Retell, in your own words, a scene of {title} in which {subject} appears."),
}  # fmt: skip


@dataclass(frozen=True)
class PassageConfig:
    source: str = setting("model", "Who writes: the project's base model or the LLM.", SOURCES)
    subjects: int = setting(12, "Dictionary terms written about, the book's most used first.")
    formats: str = setting(",".join(FORMATS), f"Comma-separated, from {', '.join(FORMATS)}.")
    per_prompt: int = setting(2, "Passages written for each subject and format.")
    max_new_tokens: int = setting(160, "Length of a passage the base model writes, in tokens.")
    temperature: float = setting(0.8, "Sampling temperature of the base model.")
    min_words: int = setting(25, "Shorter passages are dropped before review.")
    seed: int = setting(0, "Seed of the base model's sampling.")

    def __post_init__(self):
        check_choices(self)
        unknown = set(self.format_list()) - set(FORMATS)
        if unknown or not self.format_list():
            raise UnlearnError(f"formats: choose from {', '.join(FORMATS)}.")

    def format_list(self) -> list[str]:
        return [f.strip() for f in self.formats.split(",") if f.strip()]


@dataclass(frozen=True)
class Request:
    subject: str
    format: str
    index: int  # which of per_prompt
    prompt: str  # what the base model continues
    instruction: str  # what the LLM is asked

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.subject}\0{self.format}\0{self.index}".encode()).hexdigest()[
            :16
        ]


@dataclass(frozen=True)
class Passage:
    key: str
    subject: str
    format: str
    text: str
    source: str
    status: str = "pending"


def subjects(texts: Sequence[str], terms: Sequence[str], n: int) -> list[str]:
    """The dictionary terms the book uses most (a term it never uses is not written about)."""
    joined = "\n".join(texts)
    counts = Counter({term: joined.count(term) for term in terms})
    return [term for term, count in counts.most_common(n) if count]


def requests(title: str, chosen: Sequence[str], config: PassageConfig) -> list[Request]:
    out = []
    for subject in chosen:
        for form in config.format_list():
            prompt, instruction = (t.format(subject=subject, title=title) for t in TEMPLATES[form])
            out += [
                Request(subject, form, i, prompt, instruction) for i in range(config.per_prompt)
            ]
    return out


def passage_text(request: Request, written: str) -> str:
    """The stored passage: the part of the prompt that belongs to it, then what was written,
    cut at the last full sentence."""
    lead = request.prompt.split("\n\n", 1)[-1] if request.format != "qa" else request.prompt
    text = (lead + written).strip()
    end = max(text.rfind(". "), text.rfind(".\n"), text.rfind("?"), text.rfind("!"))
    return text[: end + 1] if end > len(text) // 2 else text


class WrittenPassage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=20, max_length=4000)


def write(
    batch: Sequence[Request],
    config: PassageConfig,
    write_batch: Callable[[Sequence[Request]], list[str]],
) -> list[Passage]:
    """The passages of one batch of requests; those under min_words are dropped."""
    out = []
    for request, written in zip(batch, write_batch(batch), strict=True):
        text = passage_text(request, written) if config.source == "model" else written.strip()
        if len(text.split()) >= config.min_words:
            out.append(Passage(request.key, request.subject, request.format, text, config.source))
    return out


def read_passages(data: bytes, name: str = "passages.jsonl") -> list[Passage]:
    passages = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            row = strict_json.loads(line, f"{name} line {number}")
            passages.append(Passage(**row))
    return passages


def write_passages(passages: Sequence[Passage]) -> bytes:
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in passages).encode()


def with_decisions(passages: Sequence[Passage], decisions: dict[int, dict]) -> list[Passage]:
    """Each passage with the decision in force on it (index → {"decision", "text"})."""
    out = []
    for index, passage in enumerate(passages):
        decision = decisions.get(index)
        if decision is None:
            out.append(passage)
            continue
        status = "rejected" if decision["decision"] == "reject" else "approved"
        out.append(replace(passage, status=status, text=decision.get("text") or passage.text))
    return out
