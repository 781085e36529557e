"""Router: sign-in, then the pages the signed-in person's role may see."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` from any directory

from app import state  # noqa: E402
from app.components.auth import (  # noqa: E402
    keep_session_cookie,
    login_form,
    restore_session,
    sign_out_button,
)
from pipelines.store import disk_full  # noqa: E402
from pipelines.types import Role  # noqa: E402

PAGES = Path(__file__).parent / "app_pages"


READ = (Role.ANNOTATOR, Role.REVIEWER, Role.RESEARCHER, Role.ADMIN)
REVIEW = (Role.REVIEWER, Role.RESEARCHER, Role.ADMIN)
RESEARCH = (Role.RESEARCHER, Role.ADMIN)
# section, file, title, icon, who may open it; the pipelines enforce the same rules on writes
PAGE_TABLE = [
    ("Projects", "projects", "Projects", "folder_open", READ),
    ("Projects", "reports", "Reports", "monitoring", READ),
    ("Annotate", "anchor_terms", "Anchor terms", "label", READ),
    ("Review", "anchor_dictionary", "Anchor dictionary", "book_2", REVIEW),
    ("Review", "generic_review", "Generic labels", "rule", REVIEW),
    ("Review", "judge_review", "Judge verdicts", "gavel", REVIEW),
    ("Review", "passages", "Generated passages", "edit_note", REVIEW),
    ("Review", "probes", "Book probes", "quiz", REVIEW),
    ("Research", "runs", "Runs", "model_training", RESEARCH),
    ("Research", "playground", "Playground", "chat", RESEARCH),
    ("Admin", "admin", "Users", "group", (Role.ADMIN,)),
    ("Admin", "audit", "Audit log", "history", (Role.ADMIN,)),
]


def _refusal(title: str, roles: tuple[Role, ...], role: Role):
    """A hidden stand-in for a page the role may not open: reached by its address, or the page
    a person was on when their role changed. It says why, instead of a bare "page not found"."""

    def page() -> None:
        who = " and ".join(", ".join(r.value + "s" for r in roles).rsplit(", ", 1))
        st.title(title)
        st.warning(f"{title} is open to {who}; you are signed in as {role.value}.",
                   icon=":material/lock:")  # fmt: skip
        st.page_link(PAGES / "projects.py", label="Go to Projects", icon=":material/folder_open:")

    return page


def pages_for(role: Role) -> dict[str, list[st.Page]]:
    """Navigation per role, in PAGE_TABLE's order; the pages the role may not open are there,
    hidden, as a refusal that says who may."""
    sections: dict[str, list[st.Page]] = {}
    for section, file, title, icon, roles in PAGE_TABLE:
        if role in roles:
            page = st.Page(PAGES / f"{file}.py", title=title, icon=f":material/{icon}:",
                           default=file == "projects")  # fmt: skip
        else:
            page = st.Page(_refusal(title, roles, role), title=title, url_path=file,
                           visibility="hidden")  # fmt: skip
            section = "Projects"  # never a section of hidden pages only
        sections.setdefault(section, []).append(page)
    return sections


DISK_FULL = (
    "The server's disk is full, so this could not be saved. What was stored before is "
    "untouched; ask an admin to free space, then try again."
)

st.set_page_config(page_title="Unlearn Studio", page_icon=":material/psychology:", layout="wide")
state.started()
restore_session()
current = state.actor()
if current is None:
    st.navigation([st.Page(login_form, title="Sign in")]).run()
else:
    keep_session_cookie()
    sign_out_button()
    try:
        st.navigation(pages_for(current.role)).run()
    except (OSError, OperationalError) as err:  # Streamlit's rerun and stop pass through
        if not disk_full(err):
            raise
        st.error(DISK_FULL)
