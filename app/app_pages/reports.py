"""Report page: familiarity and retain perplexity per model, plots, examples, downloads."""

import json

import streamlit as st

from app import state
from app.components.evaluation_picker import before_and_after, pick_evaluation
from pipelines.evaluation import report, tradeoff

state.require_actor()
store = state.store()
st.title("Reports")
project, evaluation = pick_evaluation(store, "report")
built = json.loads((evaluation.path / "report.json").read_text())

st.caption(f"Baseline: {built['baseline']} · judge: {built['meta']['judge']}")
st.dataframe(report.metrics_table(built), hide_index=True, key="report_table")
for index, figure in enumerate(report.figures(built)):
    st.plotly_chart(figure, key=f"report_plot_{index}")
st.subheader("Before and after")
pairs = report.examples(built)
if pairs:
    before_and_after(pairs)
else:
    st.caption("No prompt became less familiar.")
st.subheader("Every run of this project")
runs = tradeoff.project_points(store, project)
if runs.empty:
    st.caption("No unlearned model has been evaluated against a baseline yet.")
else:
    event = st.plotly_chart(
        tradeoff.figure(runs), key="tradeoff_plot", on_select="rerun", selection_mode="points"
    )
    st.caption("Stars are on the Pareto front. Click a point to see its run's settings.")
    chosen = tradeoff.chosen_settings(runs, event.get("selection"))
    if chosen:
        table = tradeoff.settings_side_by_side(chosen)
        st.dataframe(table, hide_index=True, key="tradeoff_settings")
    st.dataframe(runs.drop(columns=["settings"]), hide_index=True, key="tradeoff_table")
left, right = st.columns(2)
with (evaluation.path / "report.html").open("rb") as page:
    left.download_button("Download report.html", page, file_name="report.html")
right.download_button("Download report.json", json.dumps(built, indent=1), file_name="report.json")
