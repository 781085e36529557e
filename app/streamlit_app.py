"""Router: sign-in, then the pages the signed-in person's role may see."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` from any directory

from app import state  # noqa: E402
from app.components.auth import (  # noqa: E402
    keep_session_cookie,
    login_form,
    restore_session,
    sign_out_button,
)
from pipelines.types import Role  # noqa: E402

PAGES = Path(__file__).parent / "app_pages"


def pages_for(role: Role) -> dict[str, list[st.Page]]:
    """Navigation per role; the pipelines functions enforce the same rules on every write."""
    sections = {
        "Projects": [
            st.Page(
                PAGES / "projects.py", title="Projects", icon=":material/folder_open:", default=True
            ),
            st.Page(PAGES / "reports.py", title="Reports", icon=":material/monitoring:"),
        ],
        "Annotate": [
            st.Page(PAGES / "anchor_terms.py", title="Anchor terms", icon=":material/label:")
        ],
    }
    if role in (Role.REVIEWER, Role.RESEARCHER, Role.ADMIN):
        sections["Review"] = [
            st.Page(
                PAGES / "anchor_dictionary.py", title="Anchor dictionary", icon=":material/book_2:"
            ),
            st.Page(PAGES / "generic_review.py", title="Generic labels", icon=":material/rule:"),
            st.Page(PAGES / "judge_review.py", title="Judge verdicts", icon=":material/gavel:"),
            st.Page(PAGES / "passages.py", title="Generated passages", icon=":material/edit_note:"),
            st.Page(PAGES / "probes.py", title="Book probes", icon=":material/quiz:"),
        ]
    if role in (Role.RESEARCHER, Role.ADMIN):
        sections["Research"] = [
            st.Page(PAGES / "runs.py", title="Runs", icon=":material/model_training:"),
            st.Page(PAGES / "playground.py", title="Playground", icon=":material/chat:"),
        ]
    if role == Role.ADMIN:
        sections["Admin"] = [
            st.Page(PAGES / "admin.py", title="Users", icon=":material/group:"),
            st.Page(PAGES / "audit.py", title="Audit log", icon=":material/history:"),
        ]
    return sections


st.set_page_config(page_title="Unlearn Studio", page_icon=":material/psychology:", layout="wide")
state.started()
restore_session()
current = state.actor()
if current is None:
    st.navigation([st.Page(login_form, title="Sign in")]).run()
else:
    keep_session_cookie()
    sign_out_button()
    st.navigation(pages_for(current.role)).run()
