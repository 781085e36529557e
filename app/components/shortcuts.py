"""The queues' keyboard shortcuts, named once: the buttons take them and the legend lists them.
Single keys do nothing while the cursor is in a text box, so typing never decides an item."""

from __future__ import annotations

import streamlit as st

ACCEPT = "A"
REJECT = "X"
SKIP = "S"
BACK = "B"
UNDO = "U"
NEXT_PENDING = "N"
PREVIOUS_CHUNK = "P"
NEXT_CHUNK = "N"
SUBMIT = "Ctrl+Enter"


def legend(*pairs: tuple[str, str]) -> None:
    """A one-line reminder of the page's keys, e.g. legend((ACCEPT, "accept"), ...)."""
    keys = " · ".join(f"**{key}** {what}" for key, what in pairs)
    st.caption(f"Keys: {keys} (single keys work when the cursor is not in a text box)")
