"""The project selector every page shares: the choice follows the person from page to page and
lives in the address (`?project=Name`), so a reload or a shared link opens the same project."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from pipelines.store.projects import list_projects

PARAM = "project"  # the query parameter
REMEMBERED = "chosen_project"  # this session's last choice, across pages


def wanted_project() -> str | None:
    """The project the address names, else the one chosen last on any page."""
    return st.query_params.get(PARAM) or st.session_state.get(REMEMBERED)


def remember_project(name: str) -> None:
    st.session_state[REMEMBERED] = name
    if st.query_params.get(PARAM) != name:
        st.query_params[PARAM] = name


def select_project_name(names: Sequence[str], key: str, label: str = "Project") -> str:
    """A selectbox over project names that starts on the wanted project and remembers the
    choice; a name no longer listed falls back to the first."""
    wanted = wanted_project()
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    if key not in st.session_state and wanted in names:
        st.session_state[key] = wanted
    chosen = st.selectbox(label, list(names), key=key)
    remember_project(chosen)
    return chosen


def select_project(projects: Sequence, key: str):
    """The same over project objects (anything with a name)."""
    names = [p.name for p in projects]
    return projects[names.index(select_project_name(names, key))]


def pick_forget_project(store, key: str):
    """Choose one of the projects that have forget documents; stops the page when none do."""
    projects = [p for p in list_projects(store) if p.n_forget]
    if not projects:
        st.info("No project has forget documents yet.")
        st.stop()
    return select_project(projects, key)
