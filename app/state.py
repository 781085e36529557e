"""The app's process-wide store and the signed-in person, kept out of the pages."""

from __future__ import annotations

import streamlit as st

from pipelines import bootstrap
from pipelines.evaluation import playground
from pipelines.store import Store
from pipelines.store.access import current_actor
from pipelines.types import Actor


@st.cache_resource
def started() -> bootstrap.Started:
    """Migrate, ensure the admin and seed the Demo project once per server process."""
    run = bootstrap.start()
    if run.generated_password:
        print(f"Created user 'admin' with password: {run.generated_password}", flush=True)
    bootstrap.seed_demo(run.store, run.admin)
    return run


def store() -> Store:
    return started().store


def actor() -> Actor | None:
    """The signed-in person as the store has them now: a changed role applies on the next
    click, and a deactivated account is signed out."""
    signed_in = st.session_state.get("actor")
    if signed_in is None:
        return None
    now = current_actor(store(), signed_in.user_id)
    if now is None:
        st.session_state.pop("actor", None)
    else:
        st.session_state["actor"] = now
    return now


def require_actor() -> Actor:
    current = actor()
    if current is None:
        st.stop()
    return current


@st.cache_resource
def playground_models() -> playground.ModelCache:
    """The playground's loaded models, shared by every session of this server."""
    return playground.ModelCache(store().settings.models_dir)
