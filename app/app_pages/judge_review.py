"""Reviewers' page (Project 3): check the judge's verdicts; agreement and adjusted scores."""

import pandas as pd
import plotly.express as px
import streamlit as st

from app import state
from app.components import shortcuts
from app.components.evaluation_picker import pick_evaluation
from pipelines.evaluation import judge_review
from pipelines.evaluation.judge import CATEGORIES
from pipelines.types import UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Judge review")
project, evaluation = pick_evaluation(store, "judge")

items = judge_review.load_items(evaluation)
found = judge_review.decisions(store, project, evaluation.id)
stats = judge_review.agreement(items, found)
cols = st.columns(4)
cols[0].metric("Checked", f"{stats['checked_items']} / {len(items)}")
kappa = stats["judge_vs_people_kappa"]
cols[1].metric("Judge vs people (Cohen's κ)", f"{kappa:.2f}" if kappa is not None else "–")
between = stats["between_people_kappa"]
cols[2].metric("Between people (κ)", f"{between:.2f}" if between is not None else "–")
cols[3].metric("Items with two reviewers", stats["items_with_two_reviewers"])

left, right = st.columns(2)
with left:
    labels = [str(c) for c in CATEGORIES]
    figure = px.imshow(
        stats["confusion"],
        x=labels,
        y=labels,
        text_auto=True,
        labels={"x": "people", "y": "judge", "color": "items"},
        title="Judge (rows) against people (columns)",
    )
    st.plotly_chart(figure, key="judge_confusion")
with right:
    st.markdown("**Completion familiarity, judge only and with people's verdicts**")
    scores = judge_review.adjusted_scores(items, found)
    st.dataframe(pd.DataFrame(scores).T, key="judge_scores")

mine = {item_id for item_id, verdicts in found.items() if actor.user_id in verdicts}
queue = [item for item in judge_review.review_order(items) if item.id not in mine]
st.progress(len(mine) / len(items), text=f"You have checked {len(mine)} of {len(items)}")
if not queue:
    st.success("Nothing left for you in this evaluation.")
    st.stop()
item = queue[0]
st.caption(f"Model {item.model} · {item.kind} completion · item {item.id}")
st.markdown("**Prompt**")
st.text(item.prompt)
st.markdown("**Completion**")
st.text(item.completion)
st.info(f"Judge ({item.judge}): category {item.category}, {item.rationale}")
with st.form(f"judge_item_{item.id}"):
    category = st.radio(
        "Your category",
        list(CATEGORIES),
        index=list(CATEGORIES).index(item.category),
        format_func=lambda c: f"{c}: {CATEGORIES[c]}",
        key=f"judge_category_{item.id}",
    )
    if st.form_submit_button("Save verdict", type="primary", shortcut=shortcuts.SUBMIT):
        try:
            judge_review.record(store, actor, project, evaluation.id, item.id, category)
            st.rerun()
        except UnlearnError as err:
            st.error(str(err))
