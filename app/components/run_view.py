"""One run, live: progress, loss plot, log tail and its controls (refreshes while it runs)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from app import state
from pipelines.runs import jobs, run_report
from pipelines.store import jobs as rows
from pipelines.types import UnlearnError

ACTIVE = (rows.QUEUED, rows.RUNNING)


def loss_plot(metrics_by_run: dict[int, list[dict]], key: str) -> None:
    curves = run_report.loss_curves(metrics_by_run)
    if curves.empty:
        st.caption("No training steps yet.")
        return
    figure = px.line(curves, x="step", y="loss", color="run", line_dash="kind", markers=False)
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    st.plotly_chart(figure, key=key)
    probes = run_report.probe_curves(metrics_by_run)
    if not probes.empty:
        figure = px.line(probes, x="step", y="value", color="run", facet_col="measure",
                         markers=True, title="probes while training")  # fmt: skip
        figure.update_yaxes(matches=None, showticklabels=True)
        figure.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
        figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 60, "b": 10})
        st.plotly_chart(figure, key=f"{key}_probes")


def _progress(job) -> None:
    fraction = job.step / job.total if job.total else 0.0
    doing = f" · {job.message}" if job.state == rows.RUNNING else ""
    st.progress(min(fraction, 1.0), text=f"{job.state}{doing} · {job.step}/{job.total}")
    cols = st.columns(4)
    cols[0].metric("Loss", f"{job.loss:.4f}" if job.loss is not None else "–")
    cols[1].metric("Tokens/s", f"{job.tokens_per_s:.0f}" if job.tokens_per_s else "–")
    running = job.state == rows.RUNNING and job.eta_s is not None
    cols[2].metric("ETA", f"{job.eta_s / 60:.1f} min" if running else "–")
    cols[3].metric("Attempt", job.attempt)


def _controls(job) -> None:
    actor, store = state.require_actor(), state.store()
    cols = st.columns(4)
    try:
        if job.state in ACTIVE and cols[0].button("Cancel", key=f"cancel_{job.id}"):
            rows.request_cancel(store, actor, job.id)
            st.rerun()
        ended = job.state in (rows.FAILED, rows.CANCELLED)
        blocker = jobs.resume_blocker(store, job) if ended else None
        if blocker:
            st.warning(f"This run cannot be resumed: {blocker} Launch a new one instead.")
        elif ended and cols[1].button("Resume", key=f"resume_{job.id}", type="primary"):
            jobs.resume(store, actor, job.id)
            st.rerun()
        if job.state in rows.ENDED and cols[2].button("Delete", key=f"delete_{job.id}"):
            rows.delete_job(store, actor, job.id)
            st.rerun()
    except UnlearnError as err:
        st.error(str(err))
    if job.state == rows.SUCCEEDED and job.outputs.get("model_dir"):
        _download(job, cols[3])


def _download(job, column) -> None:
    if column.button("Prepare model download", key=f"zip_{job.id}"):
        st.session_state[f"zip_{job.id}_path"] = str(jobs.model_archive(state.store(), job))
    path = st.session_state.get(f"zip_{job.id}_path")
    if path:
        with open(path, "rb") as archive:
            column.download_button(
                "Download model (.zip)", archive, file_name=path.rsplit("/", 1)[-1]
            )


def _body(job_id: int) -> None:
    store = state.store()
    try:
        job = rows.get_job(store, job_id)
    except UnlearnError:
        st.info(f"Run {job_id} was deleted.")
        return
    st.subheader(f"Run {job.id}: {job.stage} {run_report.method_of(job)}".strip())
    _progress(job)
    if job.error:
        (st.warning if job.state == rows.CANCELLED else st.error)(job.error)
    _controls(job)
    loss_plot({job.id: jobs.read_metrics(store, job.id)}, key=f"loss_{job.id}")
    if (job.outputs or {}).get("kept"):
        st.success(f"Checkpoint kept: {job.outputs['kept']['reason']}.")
    if job.outputs:
        st.json(job.outputs, expanded=False)
    with st.expander("Log", expanded=job.state == rows.FAILED):
        st.code(jobs.log_tail(store, job.id, 40) or "(empty)", language=None)
    with st.expander("Settings"):
        st.json(job.config)


def _panel(project_names: dict[int, str], live: bool) -> None:
    all_jobs = {job.id: job for job in rows.list_jobs(state.store())}
    if not all_jobs:
        st.info("No runs yet: launch one.")
        return
    if live and not any(job.state in ACTIVE for job in all_jobs.values()):
        st.rerun()  # everything ended: one full rerun, then no more polling
    table = run_report.runs_table(list(all_jobs.values()), project_names)
    st.dataframe(table, hide_index=True)
    if st.session_state.get("run_view_id") not in all_jobs:
        st.session_state.pop("run_view_id", None)
    selected = st.selectbox(
        "Run",
        list(all_jobs),
        format_func=lambda i: f"Run #{i} · {all_jobs[i].stage} {run_report.method_of(all_jobs[i])}",
        key="run_view_id",
    )
    _body(selected)


def runs_panel(project_names: dict[int, str]) -> None:
    """The runs table and the selected run; refreshed every two seconds while any run is live."""
    live = any(job.state in ACTIVE for job in rows.list_jobs(state.store()))
    st.fragment(_panel, run_every=2 if live else None)(project_names, live)
