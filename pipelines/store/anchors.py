"""Anchor proposals per chunk and the forget chunks annotators work through."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, func, select

from pipelines.store import Store, row_or_missing
from pipelines.store.access import audit, authorize
from pipelines.store.documents import ChunkInfo
from pipelines.store.tables import AnchorProposal, Chunk, Document
from pipelines.types import Actor, DocRole


def _forget_rows(project_id: int, *columns):
    return (
        select(*columns)
        .join(Document, Chunk.document_id == Document.id)
        .where(
            Document.project_id == project_id,
            Document.role == DocRole.FORGET,
            Document.complete,
        )
        .order_by(Document.id, Chunk.seq)
    )


def forget_chunks(store: Store, project_id: int) -> list[ChunkInfo]:
    """Every chunk of the project's forget documents, in document then reading order."""
    columns = (Chunk.id, Chunk.document_id, Chunk.seq, Chunk.start_char, Chunk.end_char,
               Chunk.text)  # fmt: skip
    with store.session() as s:  # plain rows, not ORM objects: a big book has tens of thousands
        return [ChunkInfo(*row) for row in s.execute(_forget_rows(project_id, *columns))]


def forget_chunk_places(store: Store, project_id: int) -> list[tuple[int, int, int]]:
    """(chunk id, document id, seq) of every forget chunk, without their text."""
    with store.session() as s:
        rows = s.execute(_forget_rows(project_id, Chunk.id, Chunk.document_id, Chunk.seq))
        return [tuple(row) for row in rows]


def chunks_containing(store: Store, project_id: int, words: str) -> set[int]:
    """The forget chunks whose text contains the words, any case (the annotators' search)."""
    query = _forget_rows(project_id, Chunk.id).where(
        Chunk.text.icontains(words.strip(), autoescape=True)
    )
    with store.session() as s:
        return set(s.scalars(query))


def forget_chunk(store: Store, chunk_id: int) -> ChunkInfo:
    with store.session() as s:
        c = row_or_missing(s, Chunk, chunk_id, f"No chunk {chunk_id}.")
        return ChunkInfo(c.id, c.document_id, c.seq, c.start_char, c.end_char, c.text)


def proposals_version(store: Store, project_id: int) -> tuple[int, int]:
    """(count, newest id) of the project's proposals: changes whenever a proposer run lands."""
    p = AnchorProposal
    with store.session() as s:
        count, newest = s.execute(
            select(func.count(p.id), func.max(p.id)).where(p.project_id == project_id)
        ).one()
        return count, newest or 0


def replace_proposals(
    store: Store, actor: Actor, project_id: int, source: str, spans: Iterable[dict]
) -> int:
    """Swap one source's proposals for a new run's; annotators' submissions are not touched."""
    authorize(store, actor, "anchors.propose")
    rows = [AnchorProposal(project_id=project_id, source=source, **span) for span in spans]
    with store.session() as s:
        s.execute(
            delete(AnchorProposal).where(
                AnchorProposal.project_id == project_id, AnchorProposal.source == source
            )
        )
        s.add_all(rows)
        audit(s, actor, "anchors.propose", "project", project_id, source=source, spans=len(rows))
    return len(rows)


def proposals_by_chunk(
    store: Store, project_id: int, chunk_id: int | None = None
) -> dict[int, list[dict]]:
    """chunk id -> its proposed spans (every source), in text order; one chunk's if given."""
    p = AnchorProposal
    fields = (p.start, p.end, p.text, p.label, p.translation, p.score, p.source, p.reason, p.world)
    names = [f.key for f in fields]
    query = select(p.chunk_id, *fields).where(p.project_id == project_id)
    if chunk_id is not None:
        query = query.where(p.chunk_id == chunk_id)
    with store.session() as s:  # plain rows, not ORM objects: tens of thousands of them
        rows = s.execute(query.order_by(p.chunk_id, p.start, p.id))
        found: dict[int, list[dict]] = defaultdict(list)
        for chunk_id, *values in rows:
            found[chunk_id].append(dict(zip(names, values, strict=True)))
        return dict(found)
