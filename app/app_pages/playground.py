"""Playground: type a prompt or pick an evaluation prompt; the chosen models answer side by side."""

import streamlit as st

from app import state
from app.components.playground_view import live_answers, prompt_box
from app.components.project_picker import pick_forget_project
from pipelines.evaluation import playground
from pipelines.evaluation import project as eval_project
from pipelines.types import UnlearnError

actor = state.require_actor()
store = state.store()
st.title("Playground")
project = pick_forget_project(store, "pg_project")
choices = eval_project.model_choices(store, project)
first = "start" if "start" in choices else "base"
newest = [name for name in choices if name.startswith("unlearned")][:1]
chosen = st.multiselect("Models", list(choices), default=[first, *newest],
                        key=f"pg_models_{project.id}")  # fmt: skip
try:
    prompts = eval_project.default_prompts(store, project)
except UnlearnError:
    prompts = []
texts, expected = prompt_box(store, actor, project, prompts)
key = f"pg_decoding_{project.id}"
running = st.session_state.get(key) is not None and not st.session_state[key].finished
if st.button("Complete", type="primary", disabled=running, key="pg_go"):
    try:
        st.session_state[key] = playground.Decoding(
            {name: choices[name] for name in chosen}, texts, expected
        ).start(state.playground_models())
    except UnlearnError as err:
        st.error(str(err))
live_answers(key)
