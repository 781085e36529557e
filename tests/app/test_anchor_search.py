"""Annotators search their queue: the chunk selector lists only chunks with the words, in queue
order, and showing only unsubmitted ones hides what they have submitted."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors import queue as annotation_queue
from pipelines.store.anchors import chunks_containing, forget_chunks
from pipelines.store.projects import get_project
from pipelines.store.users import create_user
from pipelines.types import Role
from tests.app.test_app import sign_in
from tests.conftest import REPO

SELECTOR = "Chunk (unsubmitted first, most uncertain first)"


def test_search_narrows_the_queue_and_submit_stays_within_it(store, admin):
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=60).run()
    project = get_project(store, "Demo")  # seeded by the app's first run
    anchor_project.propose_project(store, admin, project, anchors.ProposeConfig(sources=("ner",)))
    create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
    chunks = forget_chunks(store, project.id)
    word = "lantern"
    hits = {c.id for c in chunks if word in c.text.lower()}
    assert 1 < len(hits) < len(chunks)
    assert chunks_containing(store, project.id, "LANTERN") == hits  # any case
    assert chunks_containing(store, project.id, "100%_") == set()  # LIKE's wildcards are text

    sign_in(at, "ann1", "ann1-password")
    at.switch_page("app_pages/anchor_terms.py").run()
    at.text_input(key=f"anchor_search_{project.id}").input(word).run()
    queue = annotation_queue.queue_order(store, project, "ann1")
    matching = [e.chunk_id for e in queue if e.chunk_id in hits]
    assert at.selectbox(key=f"anchor_chunk_{project.id}").options  # redrawn with the matches
    shown = at.selectbox(key=f"anchor_chunk_{project.id}")
    assert len(shown.options) == len(matching)
    assert shown.value == matching[0]
    assert any(f"{len(matching)} of {len(queue)} chunks match" in c.value for c in at.caption)

    at.button(key="anchor_submit").click().run()
    assert at.selectbox(key=f"anchor_chunk_{project.id}").value == matching[1]
    at.radio(key=f"anchor_open_{project.id}").set_value("unsubmitted").run()
    left = at.selectbox(key=f"anchor_chunk_{project.id}")
    assert len(left.options) == len(matching) - 1 and left.value == matching[1]
    at.text_input(key=f"anchor_search_{project.id}").input("no such words anywhere").run()
    assert any("No chunk matches the search" in i.value for i in at.info)
    assert not at.exception
