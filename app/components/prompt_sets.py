"""A project's evaluation prompts: the set in use, and new sets from a file, anchors or the LLM."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines.evaluation import evaluate
from pipelines.evaluation import project as eval_project
from pipelines.llm import LLMSettings
from pipelines.types import UnlearnError


def prompt_sets_panel(store, actor, projects) -> None:
    names = [p.name for p in projects]
    project = projects[names.index(st.selectbox("Project", names, key="prompts_project"))]
    try:
        current = eval_project.default_prompts(store, project)
    except UnlearnError as err:
        st.info(str(err))
        current = []
    if current:
        frame = pd.DataFrame([p.__dict__ for p in current])
        st.caption(
            f"In use: {len(current)} prompts "
            f"({', '.join(f'{n} {k}' for k, n in frame['split'].value_counts().items())}; "
            "the evaluate stage reports on them, training never sees them)"
        )
        st.dataframe(frame, hide_index=True, height=240, key="prompts_table")
    st.markdown("**New prompt set**")
    upload = st.file_uploader("From a JSONL file (prompt, optional expected)", ["jsonl"],
                              key="prompts_upload")  # fmt: skip
    llm = LLMSettings.from_env()
    cols = st.columns(3)
    source, data = None, None
    if upload is not None and cols[0].button("Save the file's prompts", key="prompts_file"):
        source, data = "file", upload
    if cols[1].button("Cut before anchor terms", key="prompts_anchor"):
        source = "anchor-cut"
    if cols[2].button("Write with the LLM", key="prompts_llm", disabled=llm is None,
                      help=None if llm else "Set UNLEARN_LLM_MODEL to use an LLM."):  # fmt: skip
        source = "llm"
    if source:
        _build(store, actor, project, source, data)


def _build(store, actor, project, source: str, upload) -> None:
    try:
        if source == "file":
            prompts = evaluate.read_prompts(upload.getvalue(), upload.name)
            artifact = eval_project.save_prompt_set(store, actor, project, prompts, "file")
            failures = []
        else:
            with st.spinner("Building prompts…"):
                artifact, failures = eval_project.build_prompts(store, actor, project, source)
        st.success(f"Saved prompt set {artifact}; evaluations now use it.")
        for failure in failures[:20]:
            st.warning(failure)
    except UnlearnError as err:
        st.error(str(err))
