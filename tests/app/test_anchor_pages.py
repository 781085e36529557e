"""The annotators' and the dictionary pages in AppTest: corrections persist, conflicts settle."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.components.anchor_chunk import COLORS
from app.components.passage_marker import passage_segments
from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors import queue as annotation_queue
from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.projects import get_project
from pipelines.store.users import actor_for, create_user, ensure_admin
from pipelines.types import Role, UnlearnError
from tests.app.conftest import APP
from tests.app.test_app import sign_in
from tests.conftest import ADMIN_PASSWORD, DEMO


@pytest.fixture
def demo(unlearn_home):
    """The app's seeded Demo project with offline proposals, and three people."""
    st.cache_resource.clear()
    AppTest.from_file(APP, default_timeout=60).run()  # seeds the Demo project
    store = open_store(Settings.from_env())
    admin = ensure_admin(store, ADMIN_PASSWORD)[0]
    project = get_project(store, "Demo")
    anchor_project.propose_project(store, admin, project, anchors.ProposeConfig())
    for name, role in [("ann1", Role.ANNOTATOR), ("ann2", Role.ANNOTATOR), ("rev", Role.REVIEWER)]:
        create_user(store, admin, name, f"{name}-password", role)
    return store, project


def open_page(user: str, page: str) -> AppTest:
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    password = ADMIN_PASSWORD if user == "admin" else f"{user}-password"
    sign_in(at, user, password)
    return at.switch_page(f"app_pages/{page}.py").run()


def correct_first_term(at: AppTest, translation: str) -> tuple[int, str]:
    """Drop the second term of the selected chunk, retranslate the first, submit."""
    chunk_id = at.selectbox(key=next(b.key for b in at.selectbox if "anchor_chunk_" in b.key)).value
    tr_keys = [w.key for w in at.text_input if w.key.startswith(f"tr_{chunk_id}_")]
    keep_keys = [w.key for w in at.checkbox if w.key.startswith(f"keep_{chunk_id}_")]
    at.text_input(key=tr_keys[0]).input(translation)
    at.checkbox(key=keep_keys[1]).uncheck()
    at.button(key="anchor_submit").click().run()
    return chunk_id, tr_keys[0].split("_", 2)[2]


def test_an_annotator_corrects_a_chunk_and_it_survives_a_restart(demo):
    store, project = demo
    at = open_page("ann1", "anchor_terms")
    assert at.title[0].value == "Anchor terms" and not at.exception
    chunk_id, term = correct_first_term(at, "Robin Fairweather")
    payload = dictionary.latest_by_annotator(store, project)[chunk_id]["ann1"]
    edited = [s for s in payload["spans"] if anchors.term_key(s["text"]) == term]
    assert edited and all(s["translation"] == "Robin Fairweather" for s in edited)

    again = open_page("ann1", "anchor_terms")  # a new session: the work is in the store
    (item,) = [i for i in annotation_queue.queue(store, project, "ann1") if i.chunk_id == chunk_id]
    assert item.done and "1 of 72" in again.get("progress")[0].proto.text
    theirs = annotation_queue.queue(store, project, "ann2")  # each annotator has their own queue
    assert not next(i for i in theirs if i.chunk_id == chunk_id).done


def test_the_pages_light_queue_orders_and_fills_items_as_the_full_queue_does(demo):
    from pipelines.store.anchors import replace_proposals

    store, project = demo
    correct_first_term(open_page("ann1", "anchor_terms"), "Robin Fairweather")
    for who in ("ann1", "ann2"):
        full = annotation_queue.queue(store, project, who)
        light = annotation_queue.queue_order(store, project, who)
        assert [(i.chunk_id, i.uncertainty, i.done) for i in full] == [
            (e.chunk_id, e.uncertainty, e.done) for e in light
        ]
        for entry, item in list(zip(light, full, strict=True))[::9]:
            assert annotation_queue.queue_item(store, project, who, entry) == item
    # a new proposer run is seen at once: the cached uncertainties follow the proposals
    chunk = light[-1]
    text = annotation_queue.queue_item(store, project, "ann2", chunk).text
    word = text.split()[0]
    coin_flip = {"chunk_id": chunk.chunk_id, "start": 0, "end": len(word), "text": word,
                 "label": "PERSON", "translation": "Jo", "score": 0.5}  # fmt: skip
    admin = actor_for(store, "admin")
    replace_proposals(store, admin, project.id, "llm", [coin_flip])
    assert annotation_queue.queue_order(store, project, "ann2")[0].chunk_id == chunk.chunk_id


def test_two_annotators_disagree_a_reviewer_settles_and_the_researcher_publishes(demo):
    store, project = demo
    first, term = correct_first_term(open_page("ann1", "anchor_terms"), "Robin Fairweather")
    at = open_page("ann2", "anchor_terms")
    at.selectbox(key=f"anchor_chunk_{project.id}").set_value(first).run()
    second, _ = correct_first_term(at, "Sam Hollis")
    assert second == first

    page = open_page("rev", "anchor_dictionary")
    assert not page.exception and page.title[0].value == "Anchor dictionary"
    conflict = dictionary.consolidate(store, project)[term]
    assert conflict.status == "conflict"
    page.selectbox(key="conflict_term").set_value(conflict.text).run()
    page.radio(key="settle_pick").set_value("Sam Hollis")
    next(b for b in page.button if b.label == "Settle").click().run()
    settled = dictionary.consolidate(store, project)[term]
    assert settled.status == "accepted" and settled.translation == "Sam Hollis"
    assert not [t for t in page.tabs if t.label == "Proposals"]  # reviewers do not publish

    research = open_page("admin", "anchor_dictionary")
    research.button(key="dict_publish").click().run()
    assert not research.error, research.error[0].value
    assert any("Published v1" in m.value for m in research.success)
    mapping = dictionary.as_mapping(
        dictionary.read_version(dictionary.versions(store, project)[0].path)
    )
    assert mapping[conflict.text] == "Sam Hollis"


def test_annotators_cannot_settle_or_publish(demo):
    store, project = demo
    ann = actor_for(store, "ann1")
    with pytest.raises(UnlearnError):
        dictionary.settle(store, ann, project, "Thumsath", "accept", "Helen")
    with pytest.raises(UnlearnError):
        dictionary.publish(store, ann, project)


def test_the_passage_is_cut_into_plain_text_and_marked_terms_that_join_back_to_the_chunk():
    text = "<script>alert(1)</script> Ada & <b>Bo</b> and Ada"
    terms = annotation_queue.terms_of(
        [{"start": 26, "end": 29, "text": "Ada", "label": "PERSON", "translation": "<i>x</i>"}]
    )
    terms = annotation_queue.add_term(text, terms, "Bo", "PLACE", "Jo")
    segments = passage_segments(text, terms, COLORS)
    assert "".join(s["text"] for s in segments) == text  # drawn with textContent, never as HTML
    assert [(s["at"], s["text"], s.get("label")) for s in segments if s.get("label")] == [
        (26, "Ada", "PERSON"), (35, "Bo", "PLACE")]  # fmt: skip
    assert all(text[s["at"] :].startswith(s["text"]) for s in segments)
    assert [s["tip"] for s in segments if s.get("label")] == ["PERSON → <i>x</i>", "PLACE → Jo"]


def test_a_mouse_selection_becomes_the_whole_words_it_touches():
    text = "Said Alice Liddell, to the Mad-Hatter. ’Twas"
    assert annotation_queue.selected_words(text, 7, 14) == "Alice Liddell"
    assert annotation_queue.selected_words(text, 27, 33) == "Mad-Hatter"
    assert annotation_queue.selected_words(text, 18, 20) == ""  # ", " covers no word
    assert annotation_queue.selected_words(text, -5, 999) == " ".join(text.split())


def test_adding_a_term_marks_every_free_occurrence_and_refuses_absent_words():
    text = "Ada met Bo. Later Ada left."
    terms = annotation_queue.add_term(text, [], "Ada", "PERSON", "Jo")
    assert terms[0].places == [(0, 3), (18, 21)]
    with pytest.raises(UnlearnError, match="does not occur"):
        annotation_queue.add_term(text, terms, "Zed", "PERSON", "Kim")
    spans = annotation_queue.spans_from_terms(text, terms)
    assert [s["text"] for s in spans] == ["Ada", "Ada"]


def test_a_researcher_builds_a_prompt_set_from_the_published_dictionary(demo):
    from pipelines.evaluation import project as eval_project

    store, project = demo
    admin = ensure_admin(store, ADMIN_PASSWORD)[0]
    reference = (DEMO / "reference_dictionary.json").read_bytes()
    dictionary.import_dictionary(store, admin, project, reference, "reference.json")
    at = open_page("admin", "runs")
    assert not at.exception
    at.button(key="prompts_anchor").click().run()
    assert any("Saved prompt set" in m.value for m in at.success)
    stored = eval_project.default_prompts(store, project)
    assert stored and {p.source for p in stored} == {"anchor-cut"}
    assert {p.split for p in stored} == {"dev", "test"}


def test_a_big_queue_is_listed_a_page_at_a_time_and_work_on_a_later_page_is_kept(demo, monkeypatch):
    store, project = demo
    monkeypatch.setattr(annotation_queue, "QUEUE_PAGE_SIZE", 20)  # the demo's 72 chunks: 4 pages
    order = [e.chunk_id for e in annotation_queue.queue_order(store, project, "ann1")]
    at = open_page("ann1", "anchor_terms")
    assert not at.exception
    page = at.number_input(key=f"anchor_page_{project.id}")
    assert page.max == 4
    assert at.selectbox(key=f"anchor_chunk_{project.id}").options == [
        at.selectbox(key=f"anchor_chunk_{project.id}").format_func(c) for c in order[:20]
    ]
    page.set_value(3).run()
    listed = at.selectbox(key=f"anchor_chunk_{project.id}_p3")
    assert listed.value == order[40] and any("Chunks 41–60 of 72" in c.value for c in at.caption)
    listed.set_value(order[45]).run()
    chunk_id, term = correct_first_term(at, "Robin Fairweather")
    assert chunk_id == order[45] and not at.exception
    payload = dictionary.latest_by_annotator(store, project)[chunk_id]["ann1"]
    assert any(s["translation"] == "Robin Fairweather" for s in payload["spans"])
    # submitted: the chunk went to the back of the queue; the page stays, the next chunk selected
    now = [e.chunk_id for e in annotation_queue.queue_order(store, project, "ann1")]
    assert now == [c for c in order if c != chunk_id] + [chunk_id]
    assert at.number_input(key=f"anchor_page_{project.id}").value == 3
    assert at.selectbox(key=f"anchor_chunk_{project.id}_p3").value == now[45] == order[46]
    assert "1 of 72" in at.get("progress")[0].proto.text


def test_a_researcher_writes_guidelines_that_annotators_read_and_an_unsaved_edit_is_kept(demo):
    from pipelines.anchors import guidelines
    from pipelines.types import PermissionDenied

    store, project = demo
    create_user(store, ensure_admin(store, None)[0], "res", "res-password", Role.RESEARCHER)
    at = open_page("res", "anchor_terms")
    box = f"guidelines_text_{project.id}"
    at.text_area(key=box).input("Mark **every** name of a person, even once.").run()
    at = open_page("res", "anchor_terms")  # a new session before saving: the draft is back
    assert at.text_area(key=box).value == "Mark **every** name of a person, even once."
    at.button(key=f"guidelines_save_{project.id}").click().run()
    saved = guidelines.current(store, project)
    assert (saved.text, saved.author) == ("Mark **every** name of a person, even once.", "res")

    at = open_page("ann1", "anchor_terms")  # annotators read them, and cannot edit them
    assert any("Mark **every** name" in m.value for m in at.markdown)
    assert not [w for w in at.text_area if w.key == box]
    with pytest.raises(PermissionDenied):
        guidelines.save(store, actor_for(store, "ann1"), project, "Mark nothing.")
    with pytest.raises(UnlearnError, match="20,000"):
        guidelines.save(store, actor_for(store, "res"), project, "x" * 20_001)
    guidelines.save(store, actor_for(store, "res"), project, "Second version.")
    assert [g.text for g in guidelines.history(store, project)] == [
        "Second version.", "Mark **every** name of a person, even once."]  # fmt: skip


def test_reviewers_see_each_annotators_progress(demo):
    store, project = demo
    at = open_page("ann1", "anchor_terms")
    first, _ = correct_first_term(at, "Robin Fairweather")
    second, _ = correct_first_term(at, "Sam Hollis")
    assert first != second
    at = open_page("ann2", "anchor_terms")
    correct_first_term(at, "Wren Calloway")
    rows = {r["annotator"]: r for r in dictionary.progress_by_annotator(store, project)}
    assert (rows["ann1"]["chunks submitted"], rows["ann1"]["submissions"]) == (2, 2)
    assert (rows["ann2"]["chunks submitted"], rows["ann2"]["of the project's"]) == (1, "1%")
    at = open_page("rev", "anchor_dictionary")
    table = next(d.value for d in at.dataframe if "chunks submitted" in d.value.columns)
    assert list(table["annotator"]) == ["ann1", "ann2"] and not at.exception


def test_a_flagged_comment_reaches_the_reviewers_and_only_they_resolve_it(demo):
    from pipelines.anchors import comments
    from pipelines.types import PermissionDenied

    store, project = demo
    at = open_page("ann1", "anchor_terms")
    chunk_id = at.selectbox(key=f"anchor_chunk_{project.id}").value
    at.text_area(key=f"comment_text_{chunk_id}").input("Is 'the Keep' a place or a building?")
    at.checkbox(key=f"comment_flag_{chunk_id}").check()
    at.button(key=f"FormSubmitter:comment_{chunk_id}-Post").click().run()
    assert not at.exception
    assert list(comments.open_flags(store, project)) == [chunk_id]
    assert any("flagged for a reviewer" in e.label for e in at.expander)
    ann1 = actor_for(store, "ann1")
    with pytest.raises(PermissionDenied):
        comments.resolve(store, ann1, project, chunk_id, "I decided myself")
    with pytest.raises(PermissionDenied):  # the role is checked before the project is read
        comments.resolve(store, ann1, project, chunk_id + 1, "no flag here")
    with pytest.raises(UnlearnError, match="Write the comment"):
        comments.add(store, ann1, project, chunk_id, "   ")

    page = open_page("rev", "anchor_dictionary")
    assert [t.label for t in page.tabs][4] == "Flags (1)"
    assert any("Is 'the Keep' a place" in t.value for t in page.text)
    answer = open_page("rev", "anchor_terms")
    answer.selectbox(key=f"anchor_chunk_{project.id}").set_value(chunk_id).run()
    answer.text_area(key=f"comment_text_{chunk_id}").input("A building: label it OBJECT.")
    answer.checkbox(key=f"comment_resolve_{chunk_id}").check()
    answer.button(key=f"FormSubmitter:comment_{chunk_id}-Post").click().run()
    assert comments.open_flags(store, project) == {}
    thread = comments.thread(store, project, chunk_id)
    assert [(c.author, c.flag, c.resolves) for c in thread] == [
        ("ann1", True, False), ("rev", False, True)]  # fmt: skip
    assert [t.label for t in open_page("rev", "anchor_dictionary").tabs][4] == "Flags (0)"


def test_an_admin_assigns_two_annotators_per_chunk_on_the_people_tab(demo):
    from pipelines.anchors import assignment

    store, project = demo
    page = open_page("admin", "anchor_dictionary")
    page.number_input(key=f"per_chunk_{project.id}").set_value(1).run()
    page.button(key="assign_chunks").click().run()
    assert not page.exception and assignment.per_chunk(store, project) == 1
    shown = next(d.value for d in page.dataframe if "chunks assigned" in d.value.columns)
    assert set(shown["annotator"]) == {"ann1", "ann2"}
    every = annotation_queue.queue_order(store, project, "rev")  # a reviewer's: every chunk
    assert shown["chunks assigned"].sum() == len(every)
    mine = annotation_queue.queue_order(store, project, "ann1")
    assert len(mine) == int(shown.set_index("annotator").loc["ann1", "chunks assigned"])
