"""The data folder and the SQLite file are private to their owner, and ingest writes in batches."""

from __future__ import annotations

import stat

import pytest

from pipelines.config import IngestConfig, Settings
from pipelines.store import open_store


def ten_chunk_document():
    from pipelines.corpus import ingest

    text = "\n\n".join(f"Paragraph {i} has a few words of its own." for i in range(10))
    config = IngestConfig(min_chunk_words=3, max_chunk_words=12)
    return ingest.prepare(ingest.Upload("ten.txt", text.encode()), config)


def test_a_new_data_folder_and_database_are_readable_by_their_owner_only(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("UNLEARN_HOME", str(home))
    open_store(Settings.from_env())
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "unlearn.db").stat().st_mode) == 0o600


def test_a_document_written_in_several_batches_is_stored_whole_and_in_order(
    store, researcher, monkeypatch
):
    from pipelines.store import documents
    from pipelines.store.projects import create_project
    from pipelines.types import DocRole

    monkeypatch.setattr(documents, "CHUNK_BATCH", 3)
    project = create_project(store, researcher, "Batches", "smollm2-135m")
    doc = ten_chunk_document()
    text = doc.text
    doc_id = documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
    chunks = documents.list_chunks(store, doc_id)
    assert [c.text for c in chunks] == [text[a:b] for a, b in doc.spans]
    assert len(chunks) == len(doc.spans) >= 7


def test_an_ingest_killed_halfway_shows_nothing_and_a_retry_stores_the_document_once(
    store, researcher, monkeypatch
):
    from pipelines.store import documents
    from pipelines.store.anchors import forget_chunks
    from pipelines.store.projects import create_project, get_project
    from pipelines.types import DocRole

    monkeypatch.setattr(documents, "CHUNK_BATCH", 3)
    project = create_project(store, researcher, "Killed", "smollm2-135m")
    doc = ten_chunk_document()
    real_insert, calls = documents.insert, []

    def dies_on_the_second_batch(table):
        calls.append(table)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is stopped between two batches
        return real_insert(table)

    monkeypatch.setattr(documents, "insert", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
    assert documents.list_documents(store, project.id) == []
    assert forget_chunks(store, project.id) == [] and get_project(store, project.id).n_forget == 0
    monkeypatch.setattr(documents, "insert", real_insert)
    doc_id = documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
    assert [d.id for d in documents.list_documents(store, project.id)] == [doc_id]
    assert len(forget_chunks(store, project.id)) == len(doc.spans)


def test_an_ingest_overtaken_by_another_of_the_same_file_yields_and_one_whole_copy_stays(
    store, researcher, monkeypatch
):
    from pipelines.store import documents
    from pipelines.store.anchors import forget_chunks
    from pipelines.store.projects import create_project
    from pipelines.types import DocRole

    monkeypatch.setattr(documents, "CHUNK_BATCH", 3)
    project = create_project(store, researcher, "Overtaken", "smollm2-135m")
    doc = ten_chunk_document()
    real_claim, second = documents._claimed, []

    def another_ingest_runs_whole_first(session, mine, complete=False):
        if not second:  # the first ingest has its row and is about to write its first batch
            second.append(None)
            second[0] = documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
        return real_claim(session, mine, complete)

    monkeypatch.setattr(documents, "_claimed", another_ingest_runs_whole_first)
    first = documents.add_document(store, researcher, project.id, DocRole.FORGET, doc)
    assert first is None and second[0] is not None
    assert [d.id for d in documents.list_documents(store, project.id)] == [second[0]]
    assert [c.text for c in forget_chunks(store, project.id)] == [
        doc.text[a:b] for a, b in doc.spans
    ]


def test_three_people_ingesting_one_file_at_once_store_it_once_and_nobody_fails(
    store, researcher, monkeypatch
):
    from pipelines.store import documents
    from pipelines.store.anchors import forget_chunks
    from pipelines.store.projects import create_project
    from pipelines.types import DocRole
    from tests.concurrency import at_once

    monkeypatch.setattr(documents, "CHUNK_BATCH", 2)
    doc = ten_chunk_document()
    for round_ in range(5):
        project = create_project(store, researcher, f"Race {round_}", "smollm2-135m")
        results, failures = at_once(
            3,
            lambda p=project: documents.add_document(store, researcher, p.id, DocRole.FORGET, doc),
        )
        assert failures == []
        stored = [r for r in results if r is not None]
        assert len(stored) == 1
        assert [d.id for d in documents.list_documents(store, project.id)] == stored
        assert len(forget_chunks(store, project.id)) == len(doc.spans)
