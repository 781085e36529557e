"""Reviewers' page (Project 2): low-confidence generic labels, least confident first."""

import streamlit as st

from app import state
from app.components import shortcuts
from app.components.artifact_names import label_set_name
from app.components.bulk_review import bulk_decision
from app.components.guidelines_panel import guidelines_panel
from app.components.project_picker import select_project_name
from app.components.review_item import decision_controls, queue_position, show_item
from pipelines.store.projects import list_projects
from pipelines.types import UnlearnError
from pipelines.whp import project as whp
from pipelines.whp.review import WITHDRAW, decision_counts, load_review_items

actor = state.require_actor()
store = state.store()
st.title("Generic label review")

with_labels = [(p, whp.label_sets(store, p)) for p in list_projects(store)]
with_labels = [(p, sets) for p, sets in with_labels if sets]
if not with_labels:
    st.info("No label sets yet. A researcher launches the labels stage on the Runs page.")
    st.stop()
names = [p.name for p, _ in with_labels]
chosen = select_project_name(names, "review_project")
project, sets = with_labels[names.index(chosen)]
guidelines_panel(store, actor, project)
label_set = st.selectbox(
    "Label set",
    sets,
    key=f"review_set_{project.id}",
    format_func=label_set_name,
)

items = load_review_items(label_set.path)
decisions = whp.review_decisions(store, project, label_set.id)
mine = whp.reviewed_by(store, project, label_set.id, actor.user_id)
counts = decision_counts(decisions)
cols = st.columns(5)
cols[0].metric("Items", len(items))
cols[1].metric("Reviewed", len(decisions))
for col, decision in zip(cols[2:], ("accept", "reject", "edit"), strict=True):
    col.metric(f"{decision.capitalize()}ed", counts[decision])
st.progress(len(mine) / max(1, len(items)), text=f"You have reviewed {len(mine)} of {len(items)}")

last_key = f"review_last_{label_set.id}"  # this session's last decision (item ids), for Undo
last = st.session_state.get(last_key)
if last and st.button(
    "Undo my last decision" + (f" ({len(last):,} items)" if len(last) > 1 else ""),
    key="review_undo",
    shortcut=shortcuts.UNDO,
):
    whp.record_reviews(store, actor, project, label_set.id, last, {"decision": WITHDRAW})
    st.session_state.pop(last_key)
    st.rerun()
bulk = bulk_decision(items, mine, label_set.id)
if bulk:
    ids, decision = bulk
    whp.record_reviews(store, actor, project, label_set.id, ids, decision)
    st.session_state[last_key] = ids
    st.rerun()
queue = [item for item in items if item.id not in mine]
if not queue:
    st.success("Nothing left for you in this label set.")
    st.stop()
item = queue[queue_position(f"review_at_{label_set.id}", len(queue))]
show_item(item)
decision = decision_controls(item.id)
shortcuts.legend(
    (shortcuts.ACCEPT, "accept"), (shortcuts.REJECT, "reject"), (shortcuts.SKIP, "skip"),
    (shortcuts.BACK, "back"), (shortcuts.UNDO, "undo"),
)  # fmt: skip
if decision:
    try:
        whp.record_review(store, actor, project, label_set.id, item.id, decision)
        st.session_state[last_key] = [item.id]
        st.rerun()
    except UnlearnError as err:
        st.error(str(err))
