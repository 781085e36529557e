"""The anchor dictionary page's panels: terms, conflicts, versions, proposals, Label Studio."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app import state
from pipelines.anchors import assignment, dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors.propose import LABELS
from pipelines.llm import LLMSettings
from pipelines.runs import jobs, stages
from pipelines.store import jobs as job_rows
from pipelines.store.access import can
from pipelines.types import UnlearnError

STATUS_COLORS = {
    "accepted": "#2a9d8f",
    "conflict": "#e76f51",
    "rejected": "#adb5bd",
    "proposed": "#a8c5e8",
}


def terms_panel(terms: dict, stats: dict) -> None:
    rows = pd.DataFrame([t.row() for t in terms.values()])
    if rows.empty:
        st.info("No terms yet: run the proposers, then annotate chunks.")
        return
    counts = rows["status"].value_counts()
    cols = st.columns(5)
    for col, status in zip(cols, ["accepted", "conflict", "rejected", "proposed"], strict=False):
        col.metric(status.capitalize(), int(counts.get(status, 0)))
    cols[4].metric(
        "Annotator kappa",
        f"{stats['kappa']:.2f}" if stats.get("decisions") else "–",
        help="Cohen's kappa on keep/drop decisions where two annotators did the same chunk",
    )
    if stats.get("decisions"):
        st.caption(
            f"{stats['shared_chunks']} chunk(s) done by two or more annotators: "
            f"{stats['percent_agreement']:.0%} of keep/drop decisions agree; "
            f"translations agree on {stats['translation_agreement'] or 0:.0%} of shared terms."
        )
    status = st.multiselect(
        "Status", sorted(rows["status"].unique()), key="dict_status_filter", default=None
    )
    shown = rows[rows["status"].isin(status)] if status else rows
    st.dataframe(shown.sort_values(["status", "term"]), hide_index=True, width="stretch")
    fig = px.histogram(
        rows, x="label", color="status", title="Terms by label and status",
        color_discrete_map=STATUS_COLORS,
    )  # fmt: skip
    st.plotly_chart(fig, width="stretch")


def conflicts_panel(store, actor, project, terms: dict) -> None:
    open_conflicts = dictionary.conflicts(terms)
    if not open_conflicts:
        st.success("No open conflicts.")
        return
    if not can(actor, "review.submit"):
        st.info(f"{len(open_conflicts)} conflict(s) wait for a reviewer.")
        return
    names = [t.text for t in open_conflicts]
    chosen = st.selectbox("Conflict to settle", names, key="conflict_term")
    term = open_conflicts[names.index(chosen)]
    st.markdown("; ".join(term.conflicts()))
    votes = dictionary.term_votes(store, project, term.key)
    st.dataframe(pd.DataFrame(votes), hide_index=True, column_config={
        "passage": st.column_config.TextColumn("passage", width="large"),
    })  # fmt: skip
    with st.form(f"settle_{term.key}"):
        decision = st.radio(
            "Decision", ["accept", "reject"], horizontal=True, key="settle_decision"
        )
        options = [tr for tr, _ in term.translations.most_common()] or [""]
        pick = st.radio("Translation", options, key="settle_pick", format_func=_shortened)
        custom = st.text_input(
            "…or a better one", key="settle_custom", max_chars=dictionary.MAX_TRANSLATION_CHARS
        )
        label = st.selectbox("Label", LABELS, LABELS.index(term.label), key="settle_label")
        if st.form_submit_button("Settle", type="primary"):
            try:
                dictionary.settle(store, actor, project, term.text, decision, custom or pick, label)
                st.toast(f"Settled {term.text!r}.")
                st.rerun()
            except UnlearnError as err:
                st.error(str(err))


def _shortened(text: str) -> str:
    """A stored translation as an option: one stored before the length limit is cut short."""
    limit = dictionary.MAX_TRANSLATION_CHARS
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def versions_panel(store, actor, project, terms: dict) -> None:
    waiting = dictionary.unreviewed(terms)
    if waiting:
        st.warning(
            f"{len(waiting)} proposed term(s) nobody has accepted or rejected yet would be left "
            "out of a new version (annotators review them on Anchor terms)."
        )
    if can(actor, "dictionary.publish"):
        if st.button("Publish a new version", type="primary", key="dict_publish"):
            try:
                version = dictionary.publish(store, actor, project)
                st.success(f"Published v{version.version} with {version.n_terms} terms.")
            except UnlearnError as err:
                st.error(str(err))
    found = dictionary.versions(store, project)
    if not found:
        st.info("Nothing published yet.")
    else:
        st.dataframe(
            pd.DataFrame([{"version": v.version, "terms": v.n_terms, "source": v.source,
                           "published": v.created_at} for v in found]),
            hide_index=True,
        )  # fmt: skip
        version = st.selectbox(
            "Version", found, format_func=lambda v: f"v{v.version}", key="dict_version"
        )
        document = dictionary.read_version(version.path)
        left, right = st.columns(2)
        stem = f"{project.name}-dictionary-v{version.version}"
        left.download_button("Download JSON", dictionary.export_json(document),
                             f"{stem}.json", "application/json", key="dict_json")  # fmt: skip
        right.download_button("Download CSV", dictionary.export_csv(document),
                              f"{stem}.csv", "text/csv", key="dict_csv")  # fmt: skip
    if can(actor, "dictionary.publish"):
        upload = st.file_uploader("Import a dictionary (JSON or CSV)", ["json", "csv"],
                                  key="dict_import")  # fmt: skip
        if upload is not None and st.button("Import as a new version", key="dict_import_go"):
            try:
                version = dictionary.import_dictionary(
                    store, actor, project, upload.getvalue(), upload.name
                )
                st.success(f"Imported {version.n_terms} terms as v{version.version}.")
            except UnlearnError as err:
                st.error(str(err))


def proposals_panel(store, actor, project) -> None:
    settings = LLMSettings.from_env()
    st.caption(
        f"LLM endpoint: {settings.describe()}" if settings
        else "No LLM endpoint configured (UNLEARN_LLM_MODEL): the offline proposers run."
    )  # fmt: skip
    offered = [s for s in anchors.SOURCES if s != "llm" or settings]
    sources = st.multiselect("Proposers", offered, ["ner", "stats"], key="propose_sources")
    if st.button("Run proposers", key="propose_run", disabled=not sources):
        try:
            job = stages.ProposeJob(sources=",".join(sources))
            st.session_state[f"propose_job_{project.id}"] = jobs.launch(
                store, actor, project, "propose", job
            )
        except UnlearnError as err:
            st.error(str(err))
    finished = st.session_state.pop(f"propose_done_{project.id}", None)
    if finished:
        st.success(finished)
    job_id = st.session_state.get(f"propose_job_{project.id}")
    if job_id is not None:
        st.fragment(_proposal_job, run_every=2)(job_id)
    report = anchor_project.latest_report(store, project)
    if report:
        st.caption(f"Last run: {report['counts']}")
        if report["failures"]:
            st.warning(f"{len(report['failures'])} item(s) failed in the last run")
            st.dataframe(pd.DataFrame(report["failures"]), hide_index=True)


def label_studio_panel(store, actor, project) -> None:
    from pipelines.anchors import label_studio

    st.caption(
        "Send every chunk, with the proposals as predictions, to a Label Studio project; pull "
        "finished annotations back as each Label Studio annotator's own submission."
    )
    url = st.text_input("Label Studio URL", label_studio.DEFAULT_URL, key="ls_url")
    token = st.text_input("Access token", label_studio.default_token(), type="password",
                          key="ls_token")  # fmt: skip
    push, pull = st.columns(2)
    try:
        if push.button("Push chunks", key="ls_push"):
            client = label_studio.connect(label_studio.Connection.from_env(url, token))
            result = anchor_project.push_to_label_studio(client, project, store)
            st.success(f"{result.created} tasks added to Label Studio project "
                       f"{result.ls_project_id} ({result.skipped} already there).")  # fmt: skip
        if pull.button("Pull annotations", key="ls_pull"):
            client = label_studio.connect(label_studio.Connection.from_env(url, token))
            result = anchor_project.pull_from_label_studio(client, project, store, actor)
            st.success(f"Stored {result.stored} annotations; {result.unchanged} unchanged.")
            for failure in result.failures:
                st.warning(failure)
    except UnlearnError as err:
        st.error(str(err))


def _proposal_job(job_id: int) -> None:
    """The proposers' job, live: a bar while it runs (in the worker, so the page stays free),
    then its counts or its error."""
    try:
        job = job_rows.get_job(state.store(), job_id)
    except UnlearnError:
        return
    if job.state in (job_rows.QUEUED, job_rows.RUNNING):
        fraction = job.step / job.total if job.total else 0.0
        st.progress(fraction, text=f"Proposers: {job.state} {job.message}".strip())
    elif job.state == job_rows.SUCCEEDED:
        counts = job.outputs.get("counts", {})
        said = ", ".join(f"{s}: {n} spans" for s, n in counts.items()) or "No spans."
        st.session_state[f"propose_done_{job.project_id}"] = said
        st.session_state.pop(f"propose_job_{job.project_id}", None)
        st.rerun()  # the whole page: the checklist and the counts above now include them
    else:
        st.error(f"The proposers' run {job.id} {job.state}: {job.error}")
        st.session_state.pop(f"propose_job_{job.project_id}", None)


PER_CHUNK_HELP = (
    "How many annotators see each chunk: each chunk goes to this many of the active "
    "annotators, shares kept even; more than one gives the overlap that agreement (kappa) is "
    "measured on. 0: every annotator sees every chunk."
)


def people_panel(store, actor, project) -> None:
    """Who has done what: chunks assigned and submitted per annotator; researchers set how many
    annotators see each chunk."""
    current = assignment.per_chunk(store, project)
    if can(actor, "project.edit"):
        chosen = st.number_input("Annotators per chunk", 0, 20, current, help=PER_CHUNK_HELP,
                                 key=f"per_chunk_{project.id}")  # fmt: skip
        if chosen != current and st.button("Assign the chunks", key="assign_chunks"):
            assignment.set_per_chunk(store, actor, project, int(chosen))
            st.rerun()
    elif current:
        st.caption(f"Each chunk goes to {current} annotator(s).")
    rows = dictionary.progress_by_annotator(store, project)
    if not rows:
        st.info("Nobody has submitted a chunk yet.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="people_table")
