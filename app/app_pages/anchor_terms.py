"""Annotators' page (Project 1): correct the anchor terms of each chunk, most uncertain first."""

import streamlit as st

from app import state
from app.components import shortcuts
from app.components.anchor_chunk import (
    COLORS,
    add_term_form,
    draft,
    forget_draft,
    keep_draft,
    legend,
    mark_selection,
    pick_chunk,
    search_chunks,
    show_chunk_next,
    term_rows,
)
from app.components.checklist_view import pipeline_checklist
from app.components.chunk_comments import comment_thread
from app.components.guidelines_panel import guidelines_panel
from app.components.passage_marker import marked_passage
from app.components.project_picker import pick_forget_project
from pipelines.anchors.dictionary import submit_chunk
from pipelines.anchors.queue import (
    DRAFT_KIND,
    chunk_uncertainty,
    next_after_submit,
    queue_item,
    queue_order,
    spans_from_terms,
)
from pipelines.store.documents import list_documents
from pipelines.store.drafts import drafted_items
from pipelines.types import UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Anchor terms")

project = pick_forget_project(store, "anchor_project")
guidelines_panel(store, actor, project)
checklist = pipeline_checklist(store, project)
items = queue_order(store, project, actor.username)
done = sum(i.done for i in items)
st.progress(done / len(items), text=f"You have submitted {done} of {len(items)} chunks")
if not chunk_uncertainty(store, project) and not done:
    st.info("No proposals yet: a researcher runs them on the Anchor dictionary page.")

names = {d.id: d.source_name for d in list_documents(store, project.id)}
drafted = drafted_items(store, actor, project.id, DRAFT_KIND)
items = search_chunks(store, project.id, items)
if not items:
    st.info("No chunk matches the search.")
    checklist.redraw()
    st.stop()
chunk_id = pick_chunk(items, names, drafted, project.id)
item = queue_item(store, project, actor.username, next(i for i in items if i.chunk_id == chunk_id))
terms = draft(store, actor, item)
passage = st.container(border=True)  # filled below, once the term rows give the current edits
edited = term_rows(item, terms) if terms else []
keep_draft(store, actor, project, item, edited)
if item.chunk_id in drafted or edited != terms:
    st.caption("✎ Your edits are saved as a draft as you make them; Submit makes them count.")
passage.markdown(legend(), unsafe_allow_html=True)
with passage:
    selection = marked_passage(item.text, edited, COLORS, key=f"passage_{item.chunk_id}")
mark_selection(item, selection)
add_term_form(item, edited)
comment_thread(store, actor, project, item.chunk_id)

shortcuts.legend(
    (shortcuts.SUBMIT, "submit"), (shortcuts.PREVIOUS_CHUNK, "previous chunk"),
    (shortcuts.NEXT_CHUNK, "next chunk"),
)  # fmt: skip
if st.button("Submit this chunk", type="primary", key="anchor_submit", shortcut=shortcuts.SUBMIT):
    try:
        submit_chunk(store, actor, project, item.chunk_id, item.text,
                     spans_from_terms(item.text, edited), origin="app")  # fmt: skip
        forget_draft(store, actor, item)
        show_chunk_next(project.id, next_after_submit(items, item.chunk_id))
        st.toast(f"Saved {sum(len(t.places) for t in edited if t.keep)} spans.")
        st.rerun()
    except UnlearnError as err:
        st.error(str(err))
checklist.redraw()  # with what this run changed further down
