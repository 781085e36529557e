"""The data folder and the SQLite file are private to their owner, and ingest writes in batches."""

from __future__ import annotations

import stat

from pipelines.config import IngestConfig, Settings
from pipelines.store import open_store


def test_a_new_data_folder_and_database_are_readable_by_their_owner_only(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("UNLEARN_HOME", str(home))
    open_store(Settings.from_env())
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "unlearn.db").stat().st_mode) == 0o600


def test_a_document_written_in_several_batches_is_stored_whole_and_in_order(
    store, researcher, monkeypatch
):
    from pipelines.corpus import ingest
    from pipelines.store import documents
    from pipelines.store.projects import create_project
    from pipelines.types import DocRole

    monkeypatch.setattr(documents, "CHUNK_BATCH", 3)
    project = create_project(store, researcher, "Batches", "smollm2-135m")
    text = "\n\n".join(f"Paragraph {i} has a few words of its own." for i in range(10))
    config = IngestConfig(min_chunk_words=3, max_chunk_words=12)
    doc = ingest.prepare(ingest.Upload("ten.txt", text.encode()), config)
    doc_id = documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
    chunks = documents.list_chunks(store, doc_id)
    assert [c.text for c in chunks] == [text[a:b] for a, b in doc.spans]
    assert len(chunks) == len(doc.spans) >= 7
