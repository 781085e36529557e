"""One generated passage under review: its text (edits kept as a draft), the decision buttons,
and skip / back through the queue."""

from __future__ import annotations

import streamlit as st

from app.components import shortcuts
from pipelines.augment import project as augment
from pipelines.store.drafts import drop_draft, load_draft, save_draft
from pipelines.types import UnlearnError

DRAFT = "passage_edit"  # a reviewer's unsaved edit of one passage


def _draft_item(set_id: int, index: int) -> int:
    return set_id * 100_000 + index  # one draft per passage of a set


def review_passage(store, actor, project, set_id: int, index: int, item) -> bool:
    """Show one passage with approve / reject / save edit; True once a decision is stored."""
    p = item.passage
    st.markdown(f"**Passage {index + 1}** · about *{p.subject}* · {p.format} · by the {p.source}")
    if item.reviewer:
        st.caption(
            f"{p.status.capitalize()} by {item.reviewer} at {item.reviewed_at:%Y-%m-%d %H:%M}"
        )
    key = f"passage_text_{set_id}_{index}"
    draft = load_draft(store, actor, DRAFT, _draft_item(set_id, index))
    start = draft["text"] if draft else p.text  # the widget's identity is its key alone
    text = st.text_area("Passage (edit it to correct it)", value=start, key=key, height=220)
    if text != p.text and (draft or {}).get("text") != text:
        save_draft(store, actor, project.id, DRAFT, _draft_item(set_id, index), {"text": text})
    cols = st.columns(3)
    chosen = None
    if cols[0].button(
        "Approve", key=f"approve_{set_id}_{index}", type="primary", shortcut=shortcuts.ACCEPT
    ):
        chosen = ("edit", text) if text != p.text else ("approve", "")
    if cols[1].button("Reject", key=f"reject_{set_id}_{index}", shortcut=shortcuts.REJECT):
        chosen = ("reject", "")
    if chosen is None:
        return False
    try:
        augment.review(store, actor, project, set_id, index, *chosen)
    except UnlearnError as err:
        st.error(str(err))
        return False
    drop_draft(store, actor, DRAFT, _draft_item(set_id, index))
    st.session_state.pop(key, None)
    return True
