"""Projects page: create a project, upload documents, browse documents and their chunks."""

import pandas as pd
import streamlit as st

from app import state
from app.components.archive_panel import export_panel, import_panel
from app.components.checklist_view import pipeline_checklist
from app.components.project_picker import select_project_name
from pipelines import models
from pipelines.corpus import ingest
from pipelines.models import PACKAGED_MODELS
from pipelines.store.access import can
from pipelines.store.documents import list_chunks, list_documents
from pipelines.store.projects import (
    create_project,
    get_project,
    list_projects,
    update_project,
)
from pipelines.types import DocRole, UnlearnError

OTHER_MODEL = "other: directory, .gguf file or hub id"
actor = state.require_actor()
store = state.store()
st.title("Projects")


def projects_table(projects) -> pd.DataFrame:
    rows = [
        {
            "project": p.name,
            "base model": p.base_model,
            "forget documents": p.n_forget,
            "retain documents": p.n_retain,
            "version": p.version,
        }
        for p in projects
    ]
    return pd.DataFrame(rows)


def model_picker(prefix: str, current: str | None = None) -> str:
    options = [*PACKAGED_MODELS, OTHER_MODEL]
    index = options.index(current) if current in options else len(options) - 1 if current else 0
    choice = st.selectbox("Base model", options, index=index, key=f"{prefix}_model")
    if choice != OTHER_MODEL:
        return choice
    return st.text_input("Model path or hub id", value=current or "", key=f"{prefix}_model_other")


if can(actor, "project.create"):
    with st.expander("New project", expanded=False), st.form("new_project", clear_on_submit=True):
        name = st.text_input("Name", key="new_project_name")
        target = st.text_area("What should the model forget?", key="new_project_target")
        model = model_picker("new_project")
        if st.form_submit_button("Create project"):
            try:
                created = create_project(store, actor, name, model, target, models.check_source)
                st.session_state["project_name"] = created.name
                st.success(f"Created project {created.name}.")
            except UnlearnError as err:
                st.error(str(err))

projects = list_projects(store)
if not projects:
    st.info("No projects yet. A researcher or admin can create one above.")
    st.stop()
# Filled at the end of the page, so counts include an upload made further down in this run.
summary = st.empty()
names = [p.name for p in projects]
chosen = select_project_name(names, "project_name")
project = next(p for p in projects if p.name == chosen)
st.header(project.name)
st.write(project.target_description or "_No target description yet._")
st.caption(f"Base model: {project.base_model} · version {project.version}")
checklist = pipeline_checklist(store, project)

tab_names = ["Documents", "Upload", "Settings"]
if can(actor, "project.export"):
    tab_names.append("Export and import")
documents_tab, upload_tab, settings_tab, *archive_tab = st.tabs(tab_names)
for tab in archive_tab:
    with tab:
        st.markdown("**Export this project** (its documents, people's work, runs and models)")
        export_panel(store, actor, project)
        st.markdown("**Import a project** exported from this or another Unlearn Studio")
        imported = import_panel(store, actor)
        if imported is not None:
            st.success(f"Imported as project {get_project(store, imported).name}.")
with settings_tab:
    if can(actor, "project.edit"):
        with st.form(f"edit_project_{project.id}"):
            # The version seen when the form was drawn goes with the edit; a stale one is refused.
            seen_version = st.session_state.setdefault(
                f"seen_version_{project.id}", project.version
            )
            target = st.text_area(
                "Target", value=project.target_description, key=f"edit_target_{project.id}"
            )
            if st.form_submit_button("Save"):
                try:
                    update_project(
                        store, actor, project.id, seen_version, target_description=target
                    )
                    del st.session_state[f"seen_version_{project.id}"]
                    st.rerun()
                except UnlearnError as err:
                    del st.session_state[f"seen_version_{project.id}"]
                    st.error(str(err))
    else:
        st.info("Only researchers and admins change project settings.")

with upload_tab:
    if can(actor, "document.ingest"):
        files = st.file_uploader(
            "Forget or retain documents",
            type=[s.lstrip(".") for s in ingest.SUPPORTED_SUFFIXES],
            accept_multiple_files=True,
            key=f"uploads_{project.id}",
        )
        role = st.radio(
            "These documents are", [r.value for r in DocRole], horizontal=True, key="doc_role"
        )
        if st.button("Ingest", key="ingest", disabled=not files):
            bar = st.progress(0.0, text="Reading files…")
            report = ingest.run(
                project.config.ingest,
                [ingest.Upload(f.name, f.getvalue()) for f in files],
                store=store,
                actor=actor,
                project_id=project.id,
                role=DocRole(role),
                progress=lambda i, n, name: bar.progress(i / n, text=f"{i}/{n} {name}"),
            )
            for name, _doc_id, n_chunks in report.added:
                st.success(f"Added {name}: {n_chunks} chunks.")
            for name in report.duplicates:
                st.info(f"Skipped {name}: the same text is already in this project.")
            for _name, reason in report.refused:
                st.error(f"Refused {reason}")
    else:
        st.info("Only researchers and admins upload documents.")

with documents_tab:
    documents = list_documents(store, project.id)
    if not documents:
        st.info("No documents in this project yet. Add some in the Upload tab.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": d.id,
                        "document": d.source_name,
                        "role": d.role,
                        "characters": d.n_chars,
                        "chunks": d.n_chunks,
                        "sha256": d.sha256[:12],
                    }
                    for d in documents
                ]
            ),
            hide_index=True,
        )
        labels = {f"{d.source_name} ({d.role})": d.id for d in documents}
        shown = st.selectbox("Browse chunks of", list(labels), key=f"browse_doc_{project.id}")
        chunks = list_chunks(store, labels[shown])
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "chunk": c.seq,
                        "start": c.start,
                        "end": c.end,
                        "words": len(c.text.split()),
                        "opening": c.text[:90],
                    }
                    for c in chunks
                ]
            ),
            hide_index=True,
        )
        number = st.number_input(
            "Chunk", 1, len(chunks), 1, key=f"chunk_number_{labels[shown]}"
        )  # numbered from 1, as on Anchor terms
        chunk = chunks[number - 1]
        st.caption(f"Characters {chunk.start}–{chunk.end} of the document")
        st.text(chunk.text)  # st.text escapes: HTML in a document renders as text

summary.dataframe(projects_table(list_projects(store)), hide_index=True)
checklist.redraw()  # with what this run changed further down
