"""Cloze probes built from the forget text: a sentence up to one of the book's own words, kept
where the base model already predicts that word (so its probability can fall)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from wordfreq import zipf_frequency

from pipelines import strict_json
from pipelines.config import setting
from pipelines.types import UnlearnError

SPLITS = ("tuning", "report")  # tuning: picks the checkpoint; report: judges the run
STATUSES = ("kept", "rejected")
GROUPS = ("book", "general", "fiction")  # book: should fall; the others: must be kept
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+")
WORD = re.compile(r"[^\W\d_][\w’'-]*[^\W_]|[^\W\d_]")
FUNCTION_WORD_ZIPF = 6.0  # "the", "of", "and": never an answer, even inside an anchor
CANDIDATES_PER_ANSWER = 5  # × per_answer: scored before the cap, so scoring stays bounded


@dataclass(frozen=True)
class ClozeConfig:
    min_probability: float = setting(
        0.05, "Keep a probe only where the base model gives its answer at least this probability."
    )
    max_general_zipf: float = setting(
        3.0, "A word is the book's own when general English uses it less than this (Zipf scale)."
    )
    min_book_count: int = setting(2, "Times the book must use a word before it is probed.")
    min_prompt_words: int = setting(5, "Words of context a probe's prompt has at least.")
    max_prompt_words: int = setting(40, "Words of context kept before the answer at most.")
    per_answer: int = setting(4, "Probes kept per answer word at most.")
    max_probes: int = setting(200, "Probes kept in all at most (the surest first).")
    near_duplicate: float = setting(
        0.6, "Two prompts with the same answer sharing this share of words are one probe."
    )


@dataclass(frozen=True)
class Probe:
    prompt: str
    answer: str
    group: str = "book"
    split: str = "report"
    source: str = "cloze"  # cloze, person, llm, shipped
    status: str = "kept"
    base_probability: float | None = None


def sentences(text: str) -> list[str]:
    """The text's sentences, each on one line of single spaces."""
    flat = " ".join(text.split())
    return [s.strip() for s in SENTENCE_END.split(flat) if s.strip()]


def book_words(texts: Sequence[str], anchors: Iterable[str], config: ClozeConfig) -> set[str]:
    """The words worth probing: each anchor's words and words the book uses often but general
    English rarely (compared lowercase)."""
    counts = Counter(w.lower() for text in texts for w in WORD.findall(text))
    own = {w for w, n in counts.items() if n >= config.min_book_count and len(w) > 2
           and zipf_frequency(w, "en") < config.max_general_zipf}  # fmt: skip
    for term in anchors:
        own |= {w.lower() for w in WORD.findall(term)
                if zipf_frequency(w, "en") < FUNCTION_WORD_ZIPF}  # fmt: skip
    return own


def candidates(texts: Sequence[str], words: set[str], config: ClozeConfig) -> list[Probe]:
    """Every sentence cut before each of the book's own words, with enough context before it
    and without the answer already in the prompt (that would test copying, not knowledge)."""
    limit = config.per_answer * CANDIDATES_PER_ANSWER
    found, per_answer = [], Counter()
    for text in texts:
        for sentence in sentences(text):
            for match in WORD.finditer(sentence):
                answer = match.group()
                prompt_words = sentence[: match.start()].split()
                if answer.lower() not in words or len(prompt_words) < config.min_prompt_words:
                    continue
                prompt = " ".join(prompt_words[-config.max_prompt_words :])
                key = answer.lower()
                if key in words_of(prompt) or per_answer[key] >= limit:
                    continue
                per_answer[key] += 1
                found.append(Probe(prompt, answer))
    return found


def words_of(text: str) -> set[str]:
    """The text's words, lowercase."""
    return {w.lower() for w in WORD.findall(text)}


def drop_near_duplicates(probes: Sequence[Probe], threshold: float) -> list[Probe]:
    """Keep the first of any probes with one answer whose prompts overlap this much (Jaccard)."""
    kept: dict[str, list[tuple[Probe, set[str]]]] = {}
    for probe in probes:
        words = words_of(probe.prompt)
        same = kept.setdefault(probe.answer.lower(), [])
        if all(len(words & w) / max(1, len(words | w)) < threshold for _, w in same):
            same.append((probe, words))
    return [p for group in kept.values() for p, _ in group]


def split_halves(probes: Sequence[Probe]) -> list[Probe]:
    """Alternate each answer's probes between the tuning and the report half (surest first),
    so both halves cover the same names; an answer seen once goes by a hash of its prompt."""
    seen: Counter[str] = Counter()
    out = []
    for probe in probes:
        key = probe.answer.lower()
        turn = seen[key] + int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2
        seen[key] += 1
        out.append(replace(probe, split=SPLITS[turn % 2]))
    return out


def build(
    texts: Sequence[str],
    anchors: Iterable[str],
    config: ClozeConfig,
    score: Callable[[list[tuple[str, str]]], list[float]],
) -> list[Probe]:
    """Cloze probes from the forget text, filtered by `score` (the base model's first-token
    probability of each answer), near-duplicates dropped, capped, split in halves."""
    found = candidates(texts, book_words(texts, anchors, config), config)
    scored = known_to_base(found, config, score)
    scored.sort(key=lambda p: -p.base_probability)
    unique = drop_near_duplicates(scored, config.near_duplicate)
    per_answer: Counter[str] = Counter()
    capped = []
    for probe in unique:
        per_answer[probe.answer.lower()] += 1
        if per_answer[probe.answer.lower()] <= config.per_answer:
            capped.append(probe)
    return split_halves(capped[: config.max_probes])


def qa_probes(
    pairs: Sequence[tuple[str, str]],
    config: ClozeConfig,
    score: Callable[[list[tuple[str, str]]], list[float]],
) -> list[Probe]:
    """Question-answer probes (the LLM's, from the forget text): the prompt asks the question,
    the answer is its first word; kept where the base model knows it, like the cloze probes,
    and split in halves of their own."""
    found = []
    for question, answer in pairs:
        first = WORD.search(answer)
        if first:
            prompt = f"Question: {' '.join(question.split())}\nAnswer:"
            found.append(Probe(prompt, first.group(), source="llm"))
    kept = known_to_base(found, config, score)
    return split_halves(drop_near_duplicates(kept, config.near_duplicate))


def known_to_base(
    found: Sequence[Probe],
    config: ClozeConfig,
    score: Callable[[list[tuple[str, str]]], list[float]],
) -> list[Probe]:
    """The probes whose answer the base model gives at least `min_probability`, with it."""
    if not found:
        return []
    probabilities = score([(p.prompt, p.answer) for p in found])
    return [replace(p, base_probability=round(float(q), 5))
            for p, q in zip(found, probabilities, strict=True)
            if q >= config.min_probability]  # fmt: skip


def read_probes(data: bytes, name: str = "probes.jsonl") -> list[Probe]:
    """JSONL probes (prompt, answer; group, split, source, status optional); errors name
    the line."""
    probes = []
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), 1):
        if line.strip():
            probes.append(probe_from_row(strict_json.loads(line, f"{name} line {number}"),
                                         f"{name} line {number}"))  # fmt: skip
    return probes


def probe_from_row(row, where: str) -> Probe:
    """One checked probe from a JSON object."""
    if not isinstance(row, dict):
        raise UnlearnError(f"{where}: a probe is one JSON object.")
    prompt, answer = row.get("prompt"), row.get("answer")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UnlearnError(f"{where}: needs a non-empty string 'prompt'.")
    if not isinstance(answer, str) or not answer.strip() or len(answer) > 80:
        raise UnlearnError(f"{where}: needs a string 'answer' of 1 to 80 characters.")
    optional = ("group", "split", "source", "status", "base_probability")
    given = {k: row[k] for k in optional if row.get(k) is not None}
    probe = Probe(prompt.strip(), answer.strip(), **given)
    for field, allowed in (("group", GROUPS), ("split", SPLITS), ("status", STATUSES)):
        if getattr(probe, field) not in allowed:
            raise UnlearnError(f"{where}: '{field}' is one of {', '.join(allowed)}.")
    return probe


def write_probes(probes: Sequence[Probe]) -> bytes:
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in probes).encode()


def in_use(probes: Sequence[Probe], group: str, split: str | None = None) -> list[tuple[str, str]]:
    """(prompt, answer) of the kept probes of a group, in one half or both."""
    return [(p.prompt, p.answer) for p in probes
            if p.status == "kept" and p.group == group and split in (None, p.split)]  # fmt: skip
