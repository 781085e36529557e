"""A chunk's comment thread under the passage, and the reviewers' list of flagged chunks."""

from __future__ import annotations

import streamlit as st

from pipelines.anchors import comments
from pipelines.store.access import can
from pipelines.store.anchors import forget_chunk_places
from pipelines.store.documents import list_documents
from pipelines.types import UnlearnError


def _show(thread: list[comments.Comment]) -> None:
    for c in thread:
        mark = "⚑ flagged · " if c.flag else ("✓ resolved · " if c.resolves else "")
        st.markdown(f"**{c.author}** · {mark}{c.at:%Y-%m-%d %H:%M}")
        st.text(c.text)


def comment_thread(store, actor, project, chunk_id: int) -> None:
    """The chunk's comments, a box to add one (and flag the chunk), and Resolve for reviewers."""
    thread = comments.thread(store, project, chunk_id)
    flagged = comments.is_open(thread)  # the thread alone says; no second read
    title = f"Comments ({len(thread)})" + (" · ⚑ flagged for a reviewer" if flagged else "")
    with st.expander(title, expanded=flagged):
        _show(thread)
        with st.form(f"comment_{chunk_id}", clear_on_submit=True):
            text = st.text_area("Your comment", key=f"comment_text_{chunk_id}",
                                max_chars=comments.MAX_CHARS, height=80)  # fmt: skip
            flag = st.checkbox("Flag this chunk for a reviewer", key=f"comment_flag_{chunk_id}")
            close = (
                flagged
                and can(actor, "review.submit")
                and st.checkbox(
                    "Resolve the flag with this comment", key=f"comment_resolve_{chunk_id}"
                )
            )
            if st.form_submit_button("Post"):
                _post(store, actor, project, chunk_id, text, flag, close)


def _post(store, actor, project, chunk_id: int, text: str, flag: bool, close: bool) -> None:
    try:
        if close:
            comments.resolve(store, actor, project, chunk_id, text)
        else:
            comments.add(store, actor, project, chunk_id, text, flag)
    except UnlearnError as err:
        st.error(str(err))
        return
    st.rerun()


def flags_panel(store, project) -> None:
    """Every chunk flagged and not yet resolved, with its thread; resolved on Anchor terms."""
    flags = comments.open_flags(store, project)
    if not flags:
        st.info("No chunk is flagged.")
        return
    documents = {d.id: d.source_name for d in list_documents(store, project.id)}
    chunk_names = {
        chunk: f"{documents.get(document, document)} · chunk {seq + 1}"
        for chunk, document, seq in forget_chunk_places(store, project.id)
    }
    st.caption("Open the chunk on Anchor terms (search for its words) to answer or resolve.")
    for chunk_id, thread in flags.items():
        with st.container(border=True):
            st.markdown(f"**{chunk_names.get(chunk_id, f'chunk {chunk_id}')}**")
            _show(thread)
