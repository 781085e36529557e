"""Documents and their chunks: stored together in one transaction, deduplicated by content hash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipelines.store import Store
from pipelines.store.access import audit, authorize
from pipelines.store.tables import Chunk, Document
from pipelines.types import Actor, DocRole, NotFound


@dataclass(frozen=True)
class PreparedDocument:
    source_name: str
    text: str
    sha256: str
    spans: list[tuple[int, int]]  # chunk (start, end) offsets


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    role: str
    source_name: str
    sha256: str
    n_chars: int
    n_chunks: int


@dataclass(frozen=True)
class ChunkInfo:
    id: int
    document_id: int
    seq: int
    start: int
    end: int
    text: str


CHUNK_BATCH = 2_000


def _chunk_rows(doc: PreparedDocument) -> list[dict]:
    """The chunk rows, built before the write transaction begins."""
    return [
        {"seq": i, "start_char": a, "end_char": b, "text": doc.text[a:b]}
        for i, (a, b) in enumerate(doc.spans)
    ]


def add_document(
    store: Store, actor: Actor, project_id: int, role: DocRole, doc: PreparedDocument
) -> int | None:
    """Store a document and all its chunks; None when the content is already there.

    The chunks go in batches, each its own short transaction, so a large book never holds the
    write lock for long; the document stays hidden (not complete) until the last batch is in,
    and a later ingest of the same file replaces what a killed one left half written. An ingest
    whose half-written row another ingest of the same file replaced yields to it (None).
    """
    authorize(store, actor, "document.ingest")
    chunk_rows = _chunk_rows(doc)
    try:
        row = _new_row(store, actor, project_id, role, doc)
    except IntegrityError:  # PostgreSQL: another ingest of the same file inserted its row first
        return None
    if row is None:
        return None
    mine = (Document.id == row.id, Document.created_at == row.created_at)
    for chunk in chunk_rows:
        chunk["document_id"] = row.id
    for start in range(0, len(chunk_rows), CHUNK_BATCH):
        with store.session() as s:
            if not _claimed(s, mine):
                return None
            s.execute(insert(Chunk), chunk_rows[start : start + CHUNK_BATCH])
    with store.session() as s:
        if not _claimed(s, mine, complete=True):
            return None
        audit(s, actor, "document.ingest", "document", row.id, project_id=project_id,
              source=doc.source_name, role=str(role), chunks=len(doc.spans))  # fmt: skip
    return row.id


def _new_row(
    store: Store, actor: Actor, project_id: int, role: DocRole, doc: PreparedDocument
) -> Document | None:
    """The document's row, hidden until complete; None when the file is already stored whole.
    Leftovers of a killed (or overtaken) ingest of the same file are removed first: that write
    takes the write turn, so the check after it sees every finished ingest."""
    same = (Document.project_id == project_id, Document.sha256 == doc.sha256)
    with store.session() as s:
        s.execute(delete(Document).where(*same, Document.complete.is_(False)))
        if s.scalar(select(Document.id).where(*same, Document.complete)) is not None:
            return None
        row = Document(project_id=project_id, role=role, source_name=doc.source_name,
                       sha256=doc.sha256, text=doc.text, n_chars=len(doc.text),
                       created_by=actor.user_id, complete=False)  # fmt: skip
        s.add(row)
        s.flush()
        return row


def _claimed(session, mine: tuple, complete: bool = False) -> bool:
    """Whether this ingest's half-written row is still there, not replaced by another ingest of
    the same file; the check is a write, so it holds the row (and SQLite's write turn) until the
    transaction ends and nobody replaces it meanwhile. The creation time tells ours from a
    replacement that SQLite may give the same id."""
    claim = update(Document).where(*mine, Document.complete.is_(False)).values(complete=complete)
    return session.execute(claim).rowcount == 1


def list_documents(
    store: Store, project_id: int, role: DocRole | None = None
) -> list[DocumentInfo]:
    with store.session() as s:
        query = (
            select(Document, func.count(Chunk.id))
            .outerjoin(Chunk, Chunk.document_id == Document.id)
            .where(Document.project_id == project_id, Document.complete)
            .group_by(Document.id)
            .order_by(Document.id)
        )
        if role is not None:
            query = query.where(Document.role == role)
        return [
            DocumentInfo(d.id, d.role, d.source_name, d.sha256, d.n_chars, n)
            for d, n in s.execute(query).all()
        ]


def document_text(store: Store, document_id: int) -> str:
    with store.session() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound(f"No document {document_id}.")
        return doc.text


def list_chunks(store: Store, document_id: int) -> list[ChunkInfo]:
    with store.session() as s:
        rows = s.scalars(select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.seq))
        return [
            ChunkInfo(c.id, c.document_id, c.seq, c.start_char, c.end_char, c.text) for c in rows
        ]


def project_texts(store: Store, project_id: int, role: DocRole) -> list[str]:
    """All document texts of one role, in upload order (the input of later stages)."""
    with store.session() as s:
        query = select(Document.text).where(
            Document.project_id == project_id, Document.role == role, Document.complete
        )
        return list(s.scalars(query.order_by(Document.id)))
