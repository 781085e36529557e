"""Probes built from the book: what the base model knows of it, checked and edited by people."""

import streamlit as st

from app import state
from app.components.probe_table import probe_editor
from app.components.project_picker import pick_forget_project
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.store.projects import list_artifacts
from pipelines.types import ArtifactKind, UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Book probes")
st.caption(
    "Cloze probes cut from the forget text before one of the book's own words, kept where the "
    "base model already predicts it. The tuning half picks the checkpoint while unlearning; "
    "the report half judges the run. Neighbour probes (general knowledge, other fiction) must "
    "not fall."
)
project = pick_forget_project(store, "probes_project")
versions = list_artifacts(store, project.id, ArtifactKind.PROBE_SET)
probes = eval_project.probe_set(store, project)
cols = st.columns(4)
cols[0].metric("Versions", len(versions))
for col, group in zip(cols[1:], cloze.GROUPS, strict=True):
    col.metric(f"{group.capitalize()} probes in use", len(cloze.in_use(probes, group)))
BUILD_HELP = "Cut probes from the forget text and keep those the base model knows."
LLM_HELP = (
    "Passages of the forget text the LLM endpoint (UNLEARN_LLM_MODEL) writes questions from; "
    "its question-answer probes join the set where the base model knows the answer. 0: none."
)
llm_passages = st.number_input("LLM question passages", 0, 200, 0, help=LLM_HELP,
                               key="probes_llm_passages")  # fmt: skip
if st.button("Build from the book", key="probes_build", help=BUILD_HELP):
    try:
        with st.status("Building probes…") as status:
            artifact, _ = eval_project.build_probes(
                store, actor, project, cloze.ClozeConfig(), progress=status.write,
                llm_passages=int(llm_passages),
            )  # fmt: skip
        st.success(f"Saved probe set {artifact}.")
        for key in ("base", "kept", "editor"):
            st.session_state.pop(f"probes_{key}_{project.id}", None)
    except UnlearnError as err:
        st.error(str(err))
if not versions and not st.session_state.get(f"probes_base_{project.id}"):
    st.info("No probes yet: build them from the book, or add them by hand below.")
probe_editor(store, actor, project)
if probes:
    st.download_button("Download the probe set (JSONL)", cloze.write_probes(probes),
                       file_name=f"probes-{project.id}.jsonl", key="probes_download")  # fmt: skip
