"""Reviewers' queue of passages the model wrote about the target; approved ones join the
forget set."""

import pandas as pd
import streamlit as st

from app import state
from app.components import shortcuts
from app.components.guidelines_panel import guidelines_panel
from app.components.passage_review import review_passage
from app.components.project_picker import pick_forget_project
from app.components.review_item import queue_position
from pipelines.augment import project as augment
from pipelines.types import Role, UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Generated passages")
st.caption(
    "Passages the base model (or the LLM) wrote about the book's people, places and events. "
    "Approved passages join the forget set and are translated and labelled like the book; "
    "rejected ones never are. A researcher writes them with the passages stage on the Runs page."
)
project = pick_forget_project(store, "passages_project")
guidelines_panel(store, actor, project)
sets = augment.passage_sets(store, project)
if not sets:
    st.info("No passages yet: launch the passages stage on the Runs page.")
    st.stop()
chosen = st.selectbox(
    "Passage set", sets, key=f"passage_set_{project.id}",
    format_func=lambda a: f"set {a.id} · {a.meta.get('passages')} passages · {a.meta['source']}",
)  # fmt: skip
items = augment.in_force(store, project, chosen.id)
statuses = pd.Series([i.passage.status for i in items])
cols = st.columns(4)
cols[0].metric("Passages", len(items))
for col, status in zip(cols[1:], ("approved", "rejected", "pending"), strict=True):
    col.metric(status.capitalize(), int((statuses == status).sum()))
st.progress(float((statuses != "pending").mean()), text="Reviewed")

position_key = f"passage_at_{chosen.id}"
pending = [i for i, item in enumerate(items) if item.passage.status == "pending"]
nav = st.columns([2, 1, 3])
with nav[0]:
    at = queue_position(position_key, len(items), start=pending[0] if pending else 0)
if nav[1].button(
    "Next pending", key="passage_next", disabled=not pending, shortcut=shortcuts.NEXT_PENDING
):
    later = [i for i in pending if i > at] or pending
    st.session_state[position_key] = later[0]
    st.rerun()
reviewed = review_passage(store, actor, project, chosen.id, at, items[at])
shortcuts.legend(
    (shortcuts.ACCEPT, "approve"), (shortcuts.REJECT, "reject"), (shortcuts.SKIP, "skip"),
    (shortcuts.BACK, "back"), (shortcuts.NEXT_PENDING, "next pending"),
)  # fmt: skip
if reviewed:
    later = [i for i in pending if i > at]
    st.session_state[position_key] = later[0] if later else at
    st.rerun()

if actor.role in (Role.RESEARCHER, Role.ADMIN):
    if st.button("Add the approved passages to the forget set", key="passages_add"):
        try:
            added = augment.add_approved(store, actor, project, chosen.id)
            st.success(f"Added {added} passages to the forget set." if added
                       else "Every approved passage is already in the forget set.")  # fmt: skip
        except UnlearnError as err:
            st.error(str(err))

with st.expander("Every passage"):
    table = [{"passage": n, "status": i.passage.status, "subject": i.passage.subject,
              "format": i.passage.format, "reviewer": i.reviewer or "", "text": i.passage.text}
             for n, i in enumerate(items, 1)]  # fmt: skip
    st.dataframe(pd.DataFrame(table), hide_index=True, key="passages_table")
