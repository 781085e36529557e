"""A project's evaluation prompts and QA pairs: the sets in use, and new ones from a file,
from anchors, from people or from the LLM."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from app.components.drafted_table import DraftedTable
from app.components.project_picker import select_project
from pipelines.evaluation import evaluate, qa
from pipelines.evaluation import project as eval_project
from pipelines.llm import LLMSettings
from pipelines.types import UnlearnError


def prompt_sets_panel(store, actor, projects):
    """The project chosen on the tab, after its prompt-set controls."""
    project = select_project(projects, "prompts_project")
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
    return project


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


QA_DRAFT = "qa_set_edits"  # unsaved edits of a project's QA table, one draft per person


def qa_sets_panel(store, actor, project) -> None:
    """KnowMem's question-answer pairs: edit the set in use (kept as a draft until saved), or
    make a new one from a file or the LLM."""
    st.markdown("**Question-answer pairs (KnowMem)**")
    stored = [asdict(p) for p in eval_project.default_qa(store, project)]
    table = DraftedTable(store, actor, project.id, QA_DRAFT, "qa")
    base = table.rows(stored, _new_pair_form(project))
    if base != stored:
        st.caption("Your unsaved edits are restored and kept; save them to make a new QA set.")
    edited = st.data_editor(
        pd.DataFrame(base, columns=["question", "answer", "set"]), num_rows="dynamic",
        hide_index=True, key=table.editor_key,
        column_config={"set": st.column_config.SelectboxColumn(
            options=qa.QA_SETS, help="forget (the default) or retain")},
    )  # fmt: skip
    now = [row | {"set": row["set"] or "forget"} for row in edited.fillna("").to_dict("records")]
    table.keep(stored, now)
    cols = st.columns(3)
    if cols[0].button("Save as a new QA set", key="qa_save", disabled=now == stored):
        _save_pairs(table, store, actor, project, now)
    upload = st.file_uploader("From a JSONL file (question, answer, set)", ["jsonl"],
                              key="qa_upload")  # fmt: skip
    llm = LLMSettings.from_env()
    if upload is not None and cols[1].button("Save the file's pairs", key="qa_file"):
        pairs = lambda: qa.read_qa(upload.getvalue(), upload.name)  # noqa: E731
        _report(lambda: (eval_project.save_qa_set(store, actor, project, pairs(), "file"), []))
    if cols[2].button("Write with the LLM", key="qa_llm", disabled=llm is None,
                      help=None if llm else "Set UNLEARN_LLM_MODEL to use an LLM."):  # fmt: skip
        with st.spinner("Writing question-answer pairs…"):
            _report(lambda: eval_project.build_qa(store, actor, project, "llm"))


def _new_pair_form(project) -> dict | None:
    """A question, its answer and its set, typed in boxes; the row to add once submitted."""
    with st.form(f"qa_add_{project.id}", clear_on_submit=True, border=False):
        left, middle, right = st.columns([3, 2, 1])
        question = left.text_input("Question", key=f"qa_question_{project.id}")
        answer = middle.text_input("Answer", key=f"qa_answer_{project.id}")
        which = right.selectbox("Set", qa.QA_SETS, key=f"qa_set_{project.id}")
        if st.form_submit_button("Add pair"):
            if question.strip() and answer.strip():
                return {"question": question.strip(), "answer": answer.strip(), "set": which}
            st.warning("A pair needs a question and an answer.")
    return None


def _save_pairs(table: DraftedTable, store, actor, project, rows: list[dict]) -> None:
    """The edited table as a new QA set; a bad row is named and nothing is lost."""

    def save():
        pairs = [qa.qa_pair(row, f"row {i}") for i, row in enumerate(rows, 1)]
        saved = eval_project.save_qa_set(store, actor, project, pairs, "people")
        table.saved()
        return saved, []

    _report(save)


def _report(build) -> None:
    try:
        artifact, failures = build()
        st.success(f"Saved QA set {artifact}; evaluations now use it.")
        for failure in failures[:20]:
            st.warning(failure)
    except UnlearnError as err:
        st.error(str(err))
