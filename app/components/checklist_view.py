"""The project's pipeline as a checklist: done steps ticked, the next one highlighted."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines.runs.checklist import checklist, next_step


class Checklist:
    """The checklist's place on a page: drawn at once, and again by `redraw` at the end of the
    page, so an action further down in the same run (a publish, an upload) is already counted."""

    def __init__(self, store, project, expanded: bool = False):
        self.store, self.project, self.expanded = store, project, expanded
        self.slot = st.empty()
        self.redraw()

    def redraw(self) -> None:
        with self.slot.container():
            _draw(self.store, self.project, self.expanded)


def pipeline_checklist(store, project, expanded: bool = False) -> Checklist:
    return Checklist(store, project, expanded)


def _draw(store, project, expanded: bool) -> None:
    steps = checklist(store, project)
    upcoming = next_step(steps)
    if upcoming is None:
        st.success("Every step is done: compare the runs on Reports, or ship the model.")
    else:
        st.info(
            f"**Next: {upcoming.name}** ({upcoming.detail}), by the {upcoming.who}, "
            f"on {upcoming.where}."
        )
    with st.expander("The pipeline, step by step", expanded=expanded):
        rows = [
            {"": "✓" if s.done else ("→" if s is upcoming else ""), "step": s.name,
             "status": s.detail, "who": s.who, "where": s.where}
            for s in steps
        ]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True)
