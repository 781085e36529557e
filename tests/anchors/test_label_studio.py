"""Label Studio round trip: UTF-16 offsets, result parsing, and push/pull on a real server."""

from __future__ import annotations

import pytest

from pipelines.anchors import dictionary
from pipelines.anchors import label_studio as ls
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.anchors import forget_chunks, proposals_by_chunk
from pipelines.store.projects import create_project, get_project
from pipelines.types import DocRole, UnlearnError
from tests.conftest import DEMO
from tests.servers import LS_BIN, LS_TOKEN, free_port, label_studio_server

# Astral characters count twice in Label Studio's UTF-16 offsets: they must not shift spans.
TEXT = "🙂 Thumsath met Zerkmath Minddrei at Skoholm. 🎉🎉 Later Thumsath left Skoholm for Desdo."


def test_utf16_offsets_round_trip_around_astral_characters():
    for i in range(len(TEXT) + 1):
        assert ls.from_utf16(TEXT, ls.to_utf16(TEXT, i)) == i
    start = TEXT.index("Thumsath")
    assert ls.to_utf16(TEXT, start) == start + 1  # one emoji before it, two units
    with pytest.raises(UnlearnError, match="inside"):
        ls.from_utf16(TEXT, 1)


def spans_in(text):
    terms = {"Thumsath": "PERSON", "Zerkmath Minddrei": "PERSON", "Skoholm": "PLACE"}
    spans = [
        {"start": a, "end": b, "text": text[a:b], "label": label, "translation": f"plain {a}"}
        for term, label in terms.items()
        for a, b in anchors.occurrences(text, term)
    ]
    return sorted(spans, key=lambda s: s["start"])


def test_regions_parse_back_to_the_same_spans():
    spans = spans_in(TEXT)
    assert ls.spans_from_result(TEXT, ls.regions(TEXT, spans)) == spans
    task = ls.task_for(7, TEXT, [dict(s, score=0.4) for s in spans])
    assert task["data"]["chunk_id"] == 7 and task["predictions"][0]["score"] == 0.4


def test_the_template_has_the_labels_and_a_per_region_translation():
    xml = ls.load_template()
    assert all(f'value="{label}"' in xml for label in anchors.LABELS)
    assert 'perRegion="true"' in xml and 'name="translation"' in xml


def test_a_server_that_is_down_gives_a_clear_message():
    with pytest.raises(UnlearnError, match="not reachable"):
        ls.connect(ls.Connection(f"http://127.0.0.1:{free_port()}", LS_TOKEN))
    with pytest.raises(UnlearnError, match="URL and an access token"):
        ls.Connection.from_env("", "")


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    if not LS_BIN.exists():
        pytest.skip(f"Label Studio is not installed at {LS_BIN} (make test installs it)")
    with label_studio_server(tmp_path_factory.mktemp("ls-data")) as url:
        yield ls.Connection(url, LS_TOKEN)


def emoji_project(store, admin):
    project = create_project(store, admin, "Round trip", "smollm2-135m")
    book = (DEMO / "forget" / "book1.md").read_text()[:1200]
    upload = ingest.Upload("book.md", (TEXT + "\n\n" + book).encode())
    ingest.run(
        IngestConfig(), [upload], store=store, actor=admin, project_id=project.id,
        role=DocRole.FORGET,
    )  # fmt: skip
    return get_project(store, project.id)


@pytest.mark.slow
def test_push_annotate_pull_keeps_every_span_and_translation(label_studio, store, admin):
    project = emoji_project(store, admin)
    anchor_project.propose_project(
        store, admin, project, anchors.ProposeConfig(sources=("ner",)), anchors.Proposers()
    )
    client = ls.connect(label_studio)
    pushed = anchor_project.push_to_label_studio(client, project, store)
    assert pushed.created == len(forget_chunks(store, project.id)) >= 1
    assert (
        anchor_project.push_to_label_studio(client, project, store).created == 0
    )  # pushing again adds nothing

    # In Label Studio, an annotator starts from the prediction, edits one translation, drops one
    # region and marks a span of their own (or relabels it, if it was proposed).
    chunk = forget_chunks(store, project.id)[0]
    (task,) = [t for t in client.tasks.list(project=pushed.ls_project_id)
               if t.data["chunk_id"] == chunk.id]  # fmt: skip
    keys = ("start", "end", "text", "label", "translation")
    proposed = anchors.merge(proposals_by_chunk(store, project.id)[chunk.id])
    expected = {s["start"]: {k: s[k] for k in keys} for s in proposed}
    edited = expected[min(expected)]["text"]
    for span in expected.values():
        if span["text"] == edited:
            span["translation"] = "Robin"
    dropped = next(s["text"] for s in expected.values() if s["text"] != edited)
    expected = {k: s for k, s in expected.items() if s["text"] != dropped}
    desdo = chunk.text.index("Desdo")
    expected[desdo] = dict(start=desdo, end=desdo + 5, text="Desdo", label="PLACE",
                           translation="the far city")  # fmt: skip
    expected = [expected[k] for k in sorted(expected)]
    result = ls.regions(chunk.text, expected)
    client.annotations.create(id=task.id, result=result, lead_time=12.0)

    pulled = anchor_project.pull_from_label_studio(client, project, store, admin)
    assert (pulled.stored, pulled.failures) == (1, [])
    by_annotator = dictionary.latest_by_annotator(store, project)[chunk.id]
    (payload,) = by_annotator.values()
    assert payload["spans"] == expected and payload["origin"] == "label_studio"
    assert list(by_annotator) == ["ls:admin@example.com"]
    assert (
        anchor_project.pull_from_label_studio(client, project, store, admin).unchanged == 1
    )  # nothing new, nothing doubled

    terms = dictionary.consolidate(store, project)
    assert terms[anchors.term_key(edited)].translation == "Robin"
    assert terms[anchors.term_key(dropped)].rejects
