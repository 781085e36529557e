"""The project's guidelines beside a queue: read by everyone, edited by researchers (the typed
text is kept as a draft until it is saved)."""

from __future__ import annotations

import streamlit as st

from pipelines.anchors import guidelines
from pipelines.store.access import can
from pipelines.store.drafts import drop_draft, load_draft, save_draft
from pipelines.types import UnlearnError

DRAFT = "guidelines_edit"


def guidelines_panel(store, actor, project) -> None:
    now = guidelines.current(store, project)
    title = "Guidelines" + (f" · by {now.author}, {now.saved_at:%Y-%m-%d %H:%M}" if now else "")
    with st.expander(title, expanded=False):
        if now:
            st.markdown(now.text)  # markdown, never HTML: what a researcher types is escaped
        else:
            st.caption("No guidelines for this project yet.")
        if can(actor, "project.edit"):
            _editor(store, actor, project, now.text if now else "")


def _keep_draft(store, actor, project, key: str) -> None:
    save_draft(store, actor, project.id, DRAFT, project.id, {"text": st.session_state[key]})


def _editor(store, actor, project, text: str) -> None:
    key = f"guidelines_text_{project.id}"
    draft = load_draft(store, actor, DRAFT, project.id)
    start = draft["text"] if draft else text
    typed = st.text_area("Edit the guidelines (Markdown)", value=start, key=key, height=200,
                         max_chars=guidelines.MAX_CHARS, on_change=_keep_draft,
                         args=(store, actor, project, key))  # fmt: skip
    if draft:
        st.caption("✎ Your unsaved edit is kept as a draft.")
    if st.button("Save the guidelines", key=f"guidelines_save_{project.id}"):
        try:
            guidelines.save(store, actor, project, typed)
            drop_draft(store, actor, DRAFT, project.id)
            st.rerun()
        except UnlearnError as err:
            st.error(str(err))
