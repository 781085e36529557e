"""Anchor proposals per chunk and the forget chunks annotators work through."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select

from pipelines.store import Store
from pipelines.store.access import audit, authorize
from pipelines.store.documents import ChunkInfo
from pipelines.store.tables import AnchorProposal, Chunk, Document
from pipelines.types import Actor, DocRole


def forget_chunks(store: Store, project_id: int) -> list[ChunkInfo]:
    """Every chunk of the project's forget documents, in document then reading order."""
    with store.session() as s:
        rows = s.scalars(
            select(Chunk)
            .join(Document, Chunk.document_id == Document.id)
            .where(
                Document.project_id == project_id,
                Document.role == DocRole.FORGET,
                Document.complete,
            )
            .order_by(Document.id, Chunk.seq)
        )
        return [
            ChunkInfo(c.id, c.document_id, c.seq, c.start_char, c.end_char, c.text) for c in rows
        ]


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


def proposals_by_chunk(store: Store, project_id: int) -> dict[int, list[dict]]:
    """chunk id -> its proposed spans (every source), in text order."""
    with store.session() as s:
        rows = s.scalars(
            select(AnchorProposal)
            .where(AnchorProposal.project_id == project_id)
            .order_by(AnchorProposal.chunk_id, AnchorProposal.start, AnchorProposal.id)
        )
        found: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            found[r.chunk_id].append(
                {
                    "start": r.start,
                    "end": r.end,
                    "text": r.text,
                    "label": r.label,
                    "translation": r.translation,
                    "score": r.score,
                    "source": r.source,
                }
            )
        return dict(found)
