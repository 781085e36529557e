"""Choose a project and one of its evaluations (newest first), and show its before-and-after
examples; stops the page if there are no evaluations."""

from __future__ import annotations

import streamlit as st

from app.components.artifact_names import evaluation_name
from app.components.project_picker import select_project_name
from pipelines.store.projects import list_artifacts, list_projects
from pipelines.types import ArtifactKind

NONE_YET = "No evaluations yet. A researcher runs one from the Runs page or `unlearn eval`."


def pick_evaluation(store, key: str):
    """(project, evaluation artefact) chosen in two select boxes owned by this page's key."""
    found = [
        (p, list_artifacts(store, p.id, ArtifactKind.EVALUATION)) for p in list_projects(store)
    ]
    found = [(p, evaluations) for p, evaluations in found if evaluations]
    if not found:
        st.info(NONE_YET)
        st.stop()
    names = [p.name for p, _ in found]
    chosen = select_project_name(names, f"{key}_project")
    project, evaluations = found[names.index(chosen)]
    evaluation = st.selectbox(
        "Evaluation",
        evaluations,
        format_func=evaluation_name,
        key=f"{key}_evaluation_{project.id}",
    )
    return project, evaluation


def before_and_after(pairs: list[dict]) -> None:
    """Each prompt with the baseline's and the unlearned model's completions side by side,
    wrapped, so the unlearned column is never off the screen."""
    names = [k for k in pairs[0] if k != "prompt"]
    heads = st.columns([2, 3, 3])
    for head, title in zip(heads, ["prompt", *names], strict=True):
        head.markdown(f"**{title}**")
    for pair in pairs:
        with st.container(border=True):
            cells = st.columns([2, 3, 3])
            for cell, key in zip(cells, ["prompt", *names], strict=True):
                cell.text(pair[key])
