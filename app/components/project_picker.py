"""Choose one of the projects that have forget documents; stops the page when none do."""

from __future__ import annotations

import streamlit as st

from pipelines.store.projects import list_projects


def pick_forget_project(store, key: str):
    projects = [p for p in list_projects(store) if p.n_forget]
    if not projects:
        st.info("No project has forget documents yet.")
        st.stop()
    names = [p.name for p in projects]
    return projects[names.index(st.selectbox("Project", names, key=key))]
