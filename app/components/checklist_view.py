"""The project's pipeline as a checklist: done steps ticked, the next one highlighted."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines.runs.checklist import checklist, next_step


def pipeline_checklist(store, project, expanded: bool = False) -> None:
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
