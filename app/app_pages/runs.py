"""Researchers' page: launch a stage as a job, watch it live, compare runs side by side."""

import streamlit as st

from app import state
from app.components.launch_form import launch_form
from app.components.prompt_sets import prompt_sets_panel, qa_sets_panel
from app.components.run_view import loss_plot, runs_panel
from pipelines.runs import jobs, run_report
from pipelines.store import jobs as rows
from pipelines.store.projects import list_projects

NO_WORKER = "No job worker is running, so queued runs wait: `make run` starts one with the app."

actor = state.require_actor()
store = state.store()
st.title("Runs")
if not jobs.worker_alive(store):
    st.warning(NO_WORKER)
jobs.fail_dead_jobs(store)  # a run whose process was killed shows failed, with Resume
projects = list_projects(store)
if not projects:
    st.info("Create a project first.")
    st.stop()
launch_tab, runs_tab, compare_tab, prompts_tab = st.tabs(
    ["Launch", "Runs", "Compare", "Evaluation prompts"]
)

with launch_tab:
    launched = launch_form(store, actor, projects)
    if launched:
        st.session_state["run_view_id"] = launched

with runs_tab:
    runs_panel({p.id: p.name for p in projects})

all_jobs = {job.id: job for job in rows.list_jobs(store)}
with compare_tab:
    if len(all_jobs) < 2:
        st.info("Two runs are needed for a comparison.")
    else:
        left, right = st.columns(2)
        ids = list(all_jobs)
        first, second = run_report.default_pair(list(all_jobs.values()))
        a = left.selectbox("Run A", ids, index=ids.index(first), key="cmp_a")
        b = right.selectbox("Run B", ids, index=ids.index(second), key="cmp_b")
        only = st.checkbox("Only what differs", value=True, key="cmp_only")
        st.dataframe(run_report.side_by_side(all_jobs[a], all_jobs[b], only), hide_index=True)
        loss_plot({i: jobs.read_metrics(store, i) for i in (a, b)}, key="cmp_loss")

with prompts_tab:
    qa_sets_panel(store, actor, prompt_sets_panel(store, actor, projects))
