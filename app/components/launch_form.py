"""The launch form: project, stage and method, then their settings prefilled for the model."""

from __future__ import annotations

import streamlit as st

from app.components.artifact_names import label_set_name
from app.components.project_picker import select_project
from app.components.settings_editor import settings_editor
from pipelines.anchors import dictionary
from pipelines.runs import jobs, stages
from pipelines.runs.checklist import ORDER
from pipelines.training.objectives import OBJECTIVES
from pipelines.types import UnlearnError
from pipelines.whp import project as whp


def _stage_choice(store, project) -> str:
    names = list(stages.STAGES)
    return st.selectbox(
        "Stage",
        names,
        index=names.index(stages.next_stage(store, project)),  # what the project needs next
        help="The order: " + " → ".join(ORDER),
        format_func=lambda s: f"{s}: {stages.STAGES[s].summary}",
        key="run_stage",
    )


def _method_choice() -> str:
    return st.selectbox(
        "Method",
        list(OBJECTIVES),
        format_func=lambda m: f"{m}: {OBJECTIVES[m].summary}",
        key="run_method",
    )


def _dictionary_choice(store, project, default: str, prefix: str) -> str:
    """A published version of the project's dictionary (newest first), or a file on the server."""
    options = {f"v{v.version} · {v.n_terms} terms ({v.source})": str(v.path)
               for v in dictionary.versions(store, project)}  # fmt: skip
    if default and default not in options.values():
        options[f"reference dictionary ({default.rsplit('/', 1)[-1]})"] = default
    options["a JSON file on the server…"] = ""
    chosen = st.selectbox("Dictionary", list(options), key=f"{prefix}.dict_choice")
    if options[chosen]:
        return options[chosen]
    label = "Dictionary file (JSON: term → translation)"
    return st.text_input(label, "", key=f"{prefix}.dict")


def _inputs(store, project, stage: str, method: str, defaults, prefix: str) -> dict:
    """The stage's inputs beside its settings: a dictionary file, or a label set."""
    extra = {}
    if stage == "labels":
        extra["dictionary"] = _dictionary_choice(store, project, defaults.dictionary, prefix)
    if stage == "unlearn" and OBJECTIVES[method].data == "labels":
        sets = whp.label_sets(store, project)
        chosen = st.selectbox("Label set", sets, format_func=label_set_name, key=f"{prefix}.ls")
        extra["label_set"] = chosen.id if chosen else None
    return extra


def launch_form(store, actor, projects) -> int | None:
    """Render the form; returns the queued job's id after a successful launch."""
    project = select_project(projects, "run_project")
    stage = _stage_choice(store, project)
    method = _method_choice() if stage == "unlearn" else "whp"
    defaults = stages.default_config(store, project, stage, method)
    prefix = f"cfg.{project.id}.{stage}.{method}"  # new defaults, new widgets
    # the inputs sit outside the form, so a choice redraws at once (a file's path box appears)
    inputs = _inputs(store, project, stage, method, defaults, prefix)
    with st.form("launch"):  # one form: its widgets change with the defaults, not the form
        edited = settings_editor(defaults, prefix) | inputs
        submitted = st.form_submit_button("Launch", type="primary")
    if not submitted:
        return None
    try:
        if stage == "labels" and not edited["dictionary"].strip():
            raise UnlearnError("Give the path of the dictionary file on the server.")
        job_id = jobs.launch(store, actor, project, stage, edited)
    except UnlearnError as err:
        st.error(str(err))
        return None
    st.success(f"Queued run {job_id}. Follow it on the Runs tab.")
    return job_id
