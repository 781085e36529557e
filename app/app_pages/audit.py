"""Audit log page (admins): who did what and when, filtered by person, action and date."""

import datetime as dt

import pandas as pd
import streamlit as st

from app import state
from pipelines.store import audit_log
from pipelines.store.users import list_users
from pipelines.types import UnlearnError

EVERYONE, EVERY_ACTION = "everyone", "every action"

actor = state.require_actor()
store = state.store()
st.title("Audit log")
st.caption(
    "Every write in the app and the CLI, and every refused attempt (permission.denied), newest "
    "first. `unlearn audit` reads the same log; `unlearn backup` keeps it."
)
person, action, since, limit = st.columns([2, 2, 2, 1])
who = person.selectbox("Person", [EVERYONE] + [u["username"] for u in list_users(store)])
what = action.selectbox("Action", [EVERY_ACTION] + audit_log.actions(store))
start = since.date_input("Since", value=None, key="audit_since")
most = limit.number_input("Rows", min_value=10, max_value=5000, value=200, step=50)
try:
    found = audit_log.events(
        store,
        actor,
        username="" if who == EVERYONE else who,
        action="" if what == EVERY_ACTION else what,
        since=dt.datetime.combine(start, dt.time()) if start else None,
        limit=int(most),
    )
except UnlearnError as err:
    st.error(str(err))
    st.stop()
if not found:
    st.info("No events match these filters.")
    st.stop()
st.dataframe(pd.DataFrame([e.as_row() for e in found]), hide_index=True, width="stretch")
