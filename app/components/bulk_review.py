"""Accept or reject many generic labels at once, chosen by a term and a confidence range."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from pipelines.whp.review import ReviewItem, confidence_steps, matching

PREVIEW_ROWS = 200


def bulk_decision(items: Sequence[ReviewItem], mine: set[int], label_set_id: int):
    """The filter, the items it covers and the two buttons; (item ids, decision) once clicked."""
    with st.expander("Decide many at once (by term and confidence)"):
        term_col, range_col = st.columns([2, 3])
        term = term_col.text_input(
            "Term (in the book's next words or in the proposed label)",
            key=f"bulk_term_{label_set_id}",
        )
        steps = confidence_steps(items)
        lowest, highest = range_col.select_slider(
            "Confidence (in steps where the items are)",
            options=steps,
            value=(steps[0], steps[-1]),
            format_func=lambda c: f"{c:g}",
            key=f"bulk_confidence_{label_set_id}",
        )
        chosen = [i for i in matching(items, term, lowest, highest) if i.id not in mine]
        st.caption(f"{len(chosen):,} of the items you have not decided match.")
        if chosen:
            st.dataframe(_preview(chosen), hide_index=True, width="stretch")
        accept, reject = st.columns(2)
        ids = [i.id for i in chosen]
        if accept.button(f"Accept all {len(ids):,}", key="bulk_accept", disabled=not ids):
            return ids, {"decision": "accept"}
        if reject.button(
            f"Reject all {len(ids):,} (mask from the loss)", key="bulk_reject", disabled=not ids
        ):
            return ids, {"decision": "reject"}
    return None


def _preview(chosen: Sequence[ReviewItem]) -> pd.DataFrame:
    rows = [
        {
            "Block": i.block + 1,
            "The book says": i.original_next,
            "Proposed label": i.proposed,
            "Confidence": i.confidence,
        }
        for i in chosen[:PREVIEW_ROWS]
    ]
    return pd.DataFrame(rows)
