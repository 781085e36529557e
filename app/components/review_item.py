"""One generic-label review item: both passages with the labelled spot marked, and the choices."""

from __future__ import annotations

import html

import streamlit as st

from app.components import shortcuts
from pipelines.whp.review import ReviewItem


def _passage(before: str, highlighted: str, after: str = "") -> str:
    """HTML with everything escaped; only the <mark> around the labelled spot is ours."""
    tail = f"<span style='opacity:0.6'>{html.escape(after)}</span>" if after else ""
    return (
        "<div style='font-family:serif;font-size:1.05rem;line-height:1.6'>…"
        f"{html.escape(before)}<mark>{html.escape(highlighted)}</mark>{tail}</div>"
    )


def show_item(item: ReviewItem) -> None:
    st.caption(
        f"Block {item.block + 1}, positions {item.positions[0]}–{item.positions[-1]} · "
        f"confidence {item.confidence:.2g}"
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Original** — what the book says next is highlighted")
        st.markdown(_passage(item.before, item.original_next), unsafe_allow_html=True)
    with right:
        st.markdown("**Generic** — the proposed label on the translated text")
        st.markdown(
            _passage(item.translated_before, item.proposed, item.continuation),
            unsafe_allow_html=True,
        )


def decision_controls(item_id: int) -> dict | None:
    """Accept / reject / replace buttons; returns the chosen decision, if one was clicked."""
    accept, reject = st.columns(2)
    if accept.button(
        "Accept", key="review_accept", type="primary", width="stretch", shortcut=shortcuts.ACCEPT
    ):
        return {"decision": "accept"}
    if reject.button(
        "Reject (mask from the loss)",
        key="review_reject",
        width="stretch",
        shortcut=shortcuts.REJECT,
    ):
        return {"decision": "reject"}
    with st.form(f"review_edit_{item_id}", clear_on_submit=True):
        replacement = st.text_input(
            "Or type a better generic continuation", key="review_replacement"
        )
        if st.form_submit_button("Save replacement"):
            return {"decision": "edit", "replacement": replacement}
    return None


def queue_position(key: str, n: int, start: int = 0) -> int:
    """Back and Skip through a queue of n items; the position is kept in the session (from
    `start` until a button moves it)."""
    at = min(max(st.session_state.get(key, start), 0), n - 1)
    back, skip = st.columns(2)
    if back.button(
        "Back", key=f"{key}_back", disabled=at == 0, width="stretch", shortcut=shortcuts.BACK
    ):
        st.session_state[key] = at - 1
        st.rerun()
    if skip.button(
        "Skip",
        key=f"{key}_skip",
        disabled=at >= n - 1,
        width="stretch",
        shortcut=shortcuts.SKIP,
    ):
        st.session_state[key] = at + 1
        st.rerun()
    return at
