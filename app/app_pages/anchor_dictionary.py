"""Reviewers' and researchers' page: every anchor term with its votes, conflicts and versions."""

import streamlit as st

from app import state
from app.components import dictionary_panels as panels
from app.components.checklist_view import pipeline_checklist
from app.components.chunk_comments import flags_panel
from app.components.guidelines_panel import guidelines_panel
from app.components.project_picker import pick_forget_project
from pipelines.anchors import comments, dictionary
from pipelines.store.access import can

actor = state.require_actor()
store = state.store()
st.title("Anchor dictionary")

project = pick_forget_project(store, "dict_project")
guidelines_panel(store, actor, project)
checklist = pipeline_checklist(store, project)
terms = dictionary.consolidate(store, project)
n_conflicts = len(dictionary.conflicts(terms))

n_flags = len(comments.open_flags(store, project))
tabs = ["Terms", f"Conflicts ({n_conflicts})", "Versions", "People", f"Flags ({n_flags})"]
if can(actor, "anchors.propose"):
    tabs += ["Proposals", "Label Studio"]
shown = st.tabs(tabs)
with shown[0]:
    panels.terms_panel(terms, dictionary.agreement(store, project))
with shown[1]:
    panels.conflicts_panel(store, actor, project, terms)
with shown[2]:
    panels.versions_panel(store, actor, project, terms)
with shown[3]:
    panels.people_panel(store, actor, project)
with shown[4]:
    flags_panel(store, project)
if len(shown) > 5:
    with shown[5]:
        panels.proposals_panel(store, actor, project)
    with shown[6]:
        panels.label_studio_panel(store, actor, project)
checklist.redraw()  # with what this run changed further down
