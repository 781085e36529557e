"""The annotators' queue of chunks (most uncertain first) and the term-level edits of one chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from pipelines.anchors.assignment import assigned_to
from pipelines.anchors.dictionary import latest_of
from pipelines.anchors.hygiene import is_common_word
from pipelines.anchors.propose import LABELS, merge, occurrences, term_key
from pipelines.store import Store
from pipelines.store.anchors import (
    forget_chunk,
    forget_chunk_places,
    forget_chunks,
    proposals_by_chunk,
    proposals_version,
)
from pipelines.store.projects import ProjectInfo
from pipelines.types import UnlearnError


@dataclass(frozen=True)
class QueueItem:
    chunk_id: int
    document_id: int
    seq: int
    text: str
    spans: list[dict]  # the annotator's own last submission, else the merged proposals
    uncertainty: float
    done: bool


def uncertainty(spans: Sequence[Mapping]) -> float:
    """1 for a chunk holding a coin-flip proposal (score 0.5), 0 when every score is 0 or 1."""
    return max((1 - abs(2 * float(s.get("score", 1.0)) - 1) for s in spans), default=0.0)


@dataclass(frozen=True)
class QueueEntry:
    """A chunk's place in an annotator's queue, without its text or spans."""

    chunk_id: int
    document_id: int
    seq: int
    uncertainty: float
    done: bool


# (database, project) -> (proposals version, chunk id -> uncertainty), one entry per project
_UNCERTAINTY: dict[tuple, tuple[tuple[int, int], dict[int, float]]] = {}


def chunk_uncertainty(store: Store, project: ProjectInfo) -> dict[int, float]:
    """chunk id -> uncertainty of its merged proposals, computed once per proposer run (a big
    project's tens of thousands of proposals are not re-read on every page load)."""
    key = (store.settings.database_url, project.id)
    version = proposals_version(store, project.id)
    cached = _UNCERTAINTY.get(key)
    if cached is None or cached[0] != version:
        by_chunk = proposals_by_chunk(store, project.id)
        cached = version, {c: uncertainty(merge(spans)) for c, spans in by_chunk.items()}
        _UNCERTAINTY[key] = cached
    return cached[1]


def queue_order(store: Store, project: ProjectInfo, annotator: str) -> list[QueueEntry]:
    """Chunks the annotator has not submitted come first, the most uncertain of them first;
    light enough for every page load (no text, no spans)."""
    scores = chunk_uncertainty(store, project)
    mine = set(latest_of(store, project, annotator))
    entries = [
        QueueEntry(chunk_id, document_id, seq, scores.get(chunk_id, 0.0), chunk_id in mine)
        for chunk_id, document_id, seq in forget_chunk_places(store, project.id)
    ]
    assigned = assigned_to(store, project, annotator, [e.chunk_id for e in entries])
    if assigned is not None:  # their share, and whatever they have already submitted
        entries = [e for e in entries if e.chunk_id in assigned or e.done]
    return sorted(entries, key=lambda i: (i.done, -i.uncertainty, i.document_id, i.seq))


QUEUE_PAGE_SIZE = 200  # chunks the annotators' chunk selector lists at a time


def queue_page(items: Sequence[QueueEntry], page: int, size: int | None = None):
    """The page'th (from 1) run of `size` entries, and how many pages there are."""
    size = size or QUEUE_PAGE_SIZE
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return list(items[(page - 1) * size : page * size]), pages


def next_after_submit(items: Sequence[QueueEntry], submitted: int) -> int | None:
    """The chunk to show once `submitted` is stored: the next unsubmitted one after it in queue
    order, else the first unsubmitted one; None when the queue is done (stay where you are)."""
    at = next((n for n, i in enumerate(items) if i.chunk_id == submitted), -1)
    ahead = list(items[at + 1 :]) + list(items[: at + 1])
    return next((i.chunk_id for i in ahead if not i.done and i.chunk_id != submitted), None)


def neighbour(items: Sequence[QueueEntry], chunk_id: int, step: int) -> int | None:
    """The chunk `step` places after (or, negative, before) this one in queue order; None past
    either end."""
    at = next((n for n, i in enumerate(items) if i.chunk_id == chunk_id), None)
    if at is None or not 0 <= at + step < len(items):
        return None
    return items[at + step].chunk_id


def page_of(items: Sequence[QueueEntry], chunk_id: int, size: int | None = None) -> int:
    """The page of the queue (from 1) that lists a chunk; 1 when it is not listed."""
    at = next((n for n, i in enumerate(items) if i.chunk_id == chunk_id), 0)
    return at // (size or QUEUE_PAGE_SIZE) + 1


def _filled(entry: QueueEntry, chunk, mine: dict | None, proposed: list[dict]) -> QueueItem:
    """The entry with its text and spans: the annotator's last submission, else the proposals."""
    spans = mine["spans"] if mine else merge(proposed)
    return QueueItem(chunk.id, chunk.document_id, chunk.seq, chunk.text, spans,
                     entry.uncertainty, entry.done)  # fmt: skip


def queue_item(store: Store, project: ProjectInfo, annotator: str, entry: QueueEntry) -> QueueItem:
    """One queue entry with its text and spans, read for that chunk alone."""
    chunk_id = entry.chunk_id
    mine = latest_of(store, project, annotator, chunk_id=chunk_id).get(chunk_id)
    proposed = proposals_by_chunk(store, project.id, chunk_id).get(chunk_id, [])
    return _filled(entry, forget_chunk(store, chunk_id), mine, proposed)


def queue(store: Store, project: ProjectInfo, annotator: str) -> list[QueueItem]:
    """The whole queue in queue_order's order, every item with its text and spans."""
    proposals = proposals_by_chunk(store, project.id)
    submitted = latest_of(store, project, annotator)
    chunks = {c.id: c for c in forget_chunks(store, project.id)}
    return [
        _filled(e, chunks[e.chunk_id], submitted.get(e.chunk_id), proposals.get(e.chunk_id, []))
        for e in queue_order(store, project, annotator)
    ]


@dataclass
class TermEdit:
    """One term of a chunk as the annotator sees it: all its occurrences move together."""

    text: str
    label: str
    translation: str
    keep: bool
    places: list[tuple[int, int]]
    score: float | None = None
    sources: str = ""
    reason: str = ""  # the proposers' reason for its type, and for "world knowledge"
    world: bool = False  # proposed as the world's knowledge: not kept unless a person keeps it

    @property
    def common_word(self) -> bool:
        """Also ordinary English ("Queen", "Long"): matched only where it is capitalised."""
        return is_common_word(self.text)


DRAFT_KIND = "anchors"  # an annotator's unsubmitted edits of one chunk


def draft_payload(terms: Sequence[TermEdit]) -> dict:
    return {"terms": [asdict(t) for t in terms]}


def terms_from_draft(payload: Mapping) -> list[TermEdit]:
    return [TermEdit(**{**t, "places": [tuple(p) for p in t["places"]]}) for t in payload["terms"]]


def terms_of(spans: Sequence[Mapping]) -> list[TermEdit]:
    """Group a chunk's spans by term, in order of first appearance."""
    found: dict[str, TermEdit] = {}
    for s in sorted(spans, key=lambda s: s["start"]):
        key = term_key(s["text"])
        if key not in found:
            found[key] = TermEdit(
                s["text"],
                s["label"],
                s["translation"],
                not s.get("world", False),
                [],
                s.get("score"),
                "+".join(s.get("sources", [])),
                s.get("reason", ""),
                bool(s.get("world", False)),
            )
        found[key].places.append((s["start"], s["end"]))
    return list(found.values())


def spans_from_terms(text: str, terms: Sequence[TermEdit]) -> list[dict]:
    """The kept terms back as spans over the chunk text."""
    return sorted(
        (
            {
                "start": a,
                "end": b,
                "text": text[a:b],
                "label": t.label,
                "translation": t.translation,
            }
            for t in terms
            if t.keep
            for a, b in t.places
        ),
        key=lambda s: s["start"],
    )


def selected_words(text: str, start: int, end: int) -> str:
    """The words a mouse selection covers, grown to whole words and trimmed of the spaces and
    punctuation around them ("ice Lidd" → "Alice Liddell"); "" when it covers no word."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    while start < end and not _word_char(text[start]):
        start += 1
    while end > start and not _word_char(text[end - 1]):
        end -= 1
    if start == end:
        return ""
    while start > 0 and _word_char(text[start - 1]):
        start -= 1
    while end < len(text) and _word_char(text[end]):
        end += 1
    return " ".join(text[start:end].strip("'’-").split())


def _word_char(char: str) -> bool:
    return char.isalnum() or char in "'’-"


def add_term(
    text: str, terms: list[TermEdit], phrase: str, label: str, translation: str
) -> list[TermEdit]:
    """Mark every free occurrence of `phrase`; refuse words that are not in the chunk."""
    phrase = " ".join(phrase.split())
    if not phrase:
        raise UnlearnError("Type the words of the term as they appear in the chunk.")
    if label not in LABELS:
        raise UnlearnError(f"Choose a label ({', '.join(LABELS)}).")
    if not translation.strip():
        raise UnlearnError(f"{phrase!r} needs a generic translation.")
    taken = [p for t in terms if t.keep for p in t.places]
    places = [
        (a, b) for a, b in occurrences(text, phrase) if not any(a < e and s < b for s, e in taken)
    ]
    if not places:
        raise UnlearnError(f"{phrase!r} does not occur in this chunk (outside marked terms).")
    kept = [t for t in terms if term_key(t.text) != term_key(phrase)]
    return kept + [TermEdit(text[places[0][0] : places[0][1]], label, translation, True, places)]
