"""Ingestion: every format, every refusal, exact offsets, dedup, and nothing stored partially."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.documents import document_text, list_chunks, list_documents
from pipelines.store.projects import create_project
from pipelines.types import DocRole, IngestError
from tests.conftest import DEMO
from tests.files import PNG_BYTES, make_epub, make_pdf

CONFIG = IngestConfig(min_chunk_words=5, max_chunk_words=40)


@pytest.fixture
def project(store, researcher):
    return create_project(store, researcher, "Ingest", "smollm2-135m")


def run(store, actor, project, *uploads, role=DocRole.FORGET, config=CONFIG):
    return ingest.run(
        config, list(uploads), store=store, actor=actor, project_id=project.id, role=role
    )


def stored_text(store, project) -> str:
    (doc,) = list_documents(store, project.id)
    return document_text(store, doc.id)


def test_txt_utf8_with_crlf_is_normalized(store, researcher, project):
    run(
        store,
        researcher,
        project,
        ingest.Upload("a.txt", "Größe café\r\nzweite Zeile\r\n".encode()),
    )
    assert stored_text(store, project) == "Größe café\nzweite Zeile"


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_legacy_encodings_are_detected(store, researcher, project, encoding):
    text = "Déjà vu: the café near the château served crème brûlée every évening. " * 4
    run(store, researcher, project, ingest.Upload("legacy.txt", text.encode(encoding)))
    assert stored_text(store, project) == text.strip()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_as_text(store, researcher, project, codec):
    text = "Plain words saved as UTF-16 with no mark: Größe, café, naïve."
    run(store, researcher, project, ingest.Upload("nobom.txt", text.encode(codec)))
    assert stored_text(store, project) == text


def test_a_missing_file_or_a_folder_is_refused_by_name(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        ingest.read_file(tmp_path / "nothere.txt")
    with pytest.raises(IngestError, match="is a folder"):
        ingest.read_file(tmp_path)


def test_markdown_jsonl_pdf_and_epub_are_read(store, researcher, project, tmp_path):
    lines = [
        json.dumps({"text": "First record about Skoholm."}),
        "",
        json.dumps({"text": "Second."}),
    ]
    epub = make_epub(
        [("One", "<p>The lantern <b>burned</b>.</p><p>Second para.</p>")], tmp_path / "b.epub"
    )
    report = run(
        store,
        researcher,
        project,
        ingest.Upload("notes.md", b"# Title\n\nSome *markdown* text."),
        ingest.Upload("data.jsonl", "\n".join(lines).encode()),
        ingest.Upload("doc.pdf", make_pdf(["The Order of Drensis meets at dawn.", "Second line."])),
        ingest.Upload("book.epub", epub),
    )
    assert not report.refused and len(report.added) == 4
    texts = {d.source_name: document_text(store, d.id) for d in list_documents(store, project.id)}
    assert texts["data.jsonl"] == "First record about Skoholm.\n\nSecond."
    assert "The Order of Drensis meets at dawn." in texts["doc.pdf"]
    assert "The lantern burned." in texts["book.epub"] and "Second para." in texts["book.epub"]


def zip_bomb() -> bytes:
    """A small zip whose one member inflates far past the size limit."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", b"\0" * 200_000)
    assert len(out.getvalue()) < 1000
    return out.getvalue()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (ingest.Upload("empty.txt", b""), "empty"),
        (ingest.Upload("blank.txt", b"  \n\n \n"), "no text"),
        (ingest.Upload("image.txt", PNG_BYTES), "binary"),
        (ingest.Upload("photo.png", b"abc"), "unsupported file type"),
        (ingest.Upload("big.txt", b"word " * 300), "over the"),
        (ingest.Upload("bad.jsonl", b'{"text": "ok"}\n{not json}\n'), "line 2: not valid JSON"),
        (ingest.Upload("bad2.jsonl", b'{"body": "no text"}\n'), 'line 1 has no string "text"'),
        (ingest.Upload("bad.pdf", b"%PDF-1.4 garbage"), "PDF"),
        (ingest.Upload("bad.epub", b"PK not a zip"), "not a readable EPUB"),
        (ingest.Upload("bomb.epub", zip_bomb()), "unpacks to"),
        (ingest.Upload("lone.jsonl", b'{"text": "ok \\ud800 there"}\n'), "lone surrogate"),
        (ingest.Upload("nul.jsonl", b'{"text": "a\\u0000b"}\n'), "NUL or control"),
        (ingest.Upload("nan.jsonl", b'{"text": "x", "n": NaN}\n'), "NaN is not a JSON number"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(store, researcher, project, upload, message):
    small = IngestConfig(max_bytes=1000, min_chunk_words=5, max_chunk_words=40)
    report = run(store, researcher, project, upload, config=small)
    assert len(report.refused) == 1 and message in report.refused[0][1]
    assert report.refused[0][1].startswith(upload.name)
    assert list_documents(store, project.id) == []


def test_a_bad_file_does_not_stop_the_good_ones(store, researcher, project):
    report = run(
        store,
        researcher,
        project,
        ingest.Upload("x.bin.txt", PNG_BYTES),
        ingest.Upload("ok.txt", b"Fine text here."),
    )
    assert [name for name, *_ in report.added] == ["ok.txt"] and len(report.refused) == 1


def test_same_content_is_stored_once(store, researcher, project):
    first = run(store, researcher, project, ingest.Upload("a.txt", b"Same words.\r\n"))
    second = run(store, researcher, project, ingest.Upload("b.txt", b"Same words.\n"))
    assert len(first.added) == 1 and second.duplicates == ["b.txt"]
    assert len(list_documents(store, project.id)) == 1


def test_stored_chunks_map_back_to_the_document_exactly(store, researcher, project):
    text = ("Ünïcødé 🦄 emoji 👩‍🔬 and 日本語 text. " * 6 + "\n\n") * 5 + "Last 🎉 para."
    run(store, researcher, project, ingest.Upload("emoji.txt", text.encode()))
    (doc,) = list_documents(store, project.id)
    full = document_text(store, doc.id)
    chunks = list_chunks(store, doc.id)
    assert len(chunks) > 1
    for chunk in chunks:
        assert full[chunk.start : chunk.end] == chunk.text
    assert chunks[-1].text.endswith("Last 🎉 para.")


def test_demo_books_chunk_to_paragraph_sized_pieces():
    text = ingest.normalize_text((DEMO / "forget" / "book1.md").read_text())
    spans = ingest.chunk_spans(text, 100, 400)
    words = [len(text[a:b].split()) for a, b in spans]
    assert max(words) <= 400
    assert sum(w >= 100 for w in words) >= len(words) - 1  # only the tail may be short


def test_long_paragraphs_are_cut_at_sentences_then_words():
    sentence = "one two three four five six seven eight nine ten. "
    text = (sentence * 10).strip() + " " + "x" * 3 + " word" * 95
    spans = ingest.chunk_spans(text, 5, 40)
    assert all(len(text[a:b].split()) <= 40 for a, b in spans)
    assert text[spans[0][0] : spans[0][1]].endswith(".")


paragraphs = st.lists(
    st.text(st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=200), max_size=8
)


@settings(max_examples=150, deadline=None)
@given(paragraphs, st.integers(1, 30), st.integers(0, 40))
def test_chunks_cover_every_word_once_in_order(parts, max_words, extra):
    text = ingest.normalize_text("\n\n".join(parts))
    spans = ingest.chunk_spans(text, min(max_words, extra), max_words)
    assert spans == sorted(spans)
    assert all(a < b and text[a:b].strip() == text[a:b] for a, b in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
    chunk_words = [w for a, b in spans for w in text[a:b].split()]
    assert chunk_words == text.split()


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 400)
    monkeypatch.setattr(type(big), "read_bytes", lambda self: pytest.fail("read whole"))
    with pytest.raises(IngestError, match="over the"):
        ingest.read_file(big, max_bytes=1000)


def test_a_bad_jsonl_line_does_not_stop_the_files_after_it(store, researcher, project):
    report = run(
        store,
        researcher,
        project,
        ingest.Upload("lone.jsonl", b'{"text": "\\udfff"}\n'),
        ingest.Upload("ok.txt", b"Fine text here."),
    )
    assert [name for name, *_ in report.added] == ["ok.txt"] and len(report.refused) == 1
