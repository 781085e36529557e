"""The probe set as an editable table: people's edits kept as a draft until saved as a version."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from app.components.drafted_table import DraftedTable
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.types import UnlearnError

DRAFT = "probe_set_edits"  # unsaved edits of a project's probe table, one draft per person
COLUMNS = ["prompt", "answer", "group", "split", "status", "source", "base_probability"]


def _stored(store, project) -> list[dict]:
    return [asdict(p) for p in eval_project.probe_set(store, project)]


def probe_editor(store, actor, project) -> None:
    """The newest probe set, with a person's unsaved edits restored from their draft."""
    stored = _stored(store, project)
    table = DraftedTable(store, actor, project.id, DRAFT, "probes")
    base = table.rows(stored, _new_probe_form(project))
    if base != stored:
        st.caption("Your unsaved edits are restored and kept; save them as a new version.")
    edited = st.data_editor(
        pd.DataFrame(base, columns=COLUMNS), num_rows="dynamic", hide_index=True,
        key=table.editor_key, width="stretch", disabled=["source", "base_probability"],
        column_config={
            "group": st.column_config.SelectboxColumn(options=cloze.GROUPS),
            "split": st.column_config.SelectboxColumn(options=cloze.SPLITS),
            "status": st.column_config.SelectboxColumn(options=cloze.STATUSES),
            "base_probability": st.column_config.NumberColumn("base model's probability",
                                                              format="%.3f"),
        },
    )  # fmt: skip
    now = [_row(r) for r in edited.to_dict("records")]
    table.keep(stored, now)
    if st.button(
        "Save as a new version", key="probes_save", type="primary", disabled=now == stored
    ):
        _save(table, store, actor, project, now)


def _row(record: dict) -> dict:
    """A table row as JSON-safe values (pandas gives NaN for empty cells)."""
    clean = {k: (None if pd.isna(v) else v) for k, v in record.items()}
    clean["source"] = clean.get("source") or "person"
    return clean


def _new_probe_form(project) -> dict | None:
    with st.form(f"probe_add_{project.id}", clear_on_submit=True, border=False):
        left, middle, right = st.columns([4, 2, 1])
        prompt = left.text_input(
            "Prompt (the text up to the answer)", key=f"probe_prompt_{project.id}"
        )
        answer = middle.text_input("Answer", key=f"probe_answer_{project.id}")
        group = right.selectbox("Group", cloze.GROUPS, key=f"probe_group_{project.id}")
        if st.form_submit_button("Add probe"):
            if prompt.strip() and answer.strip():
                return {"prompt": prompt.strip(), "answer": answer.strip(), "group": group,
                        "split": "report", "status": "kept", "source": "person",
                        "base_probability": None}  # fmt: skip
            st.warning("A probe needs a prompt and an answer.")
    return None


def _save(table: DraftedTable, store, actor, project, rows: list[dict]) -> None:
    """The edited table as a new probe-set version; a bad row is named and nothing is lost."""
    try:
        probes = [cloze.probe_from_row(row, f"row {i}") for i, row in enumerate(rows, 1)]
        artifact = eval_project.save_probe_set(store, actor, project, probes, "people")
    except UnlearnError as err:
        st.error(str(err))
        return
    table.saved()
    st.success(f"Saved probe set {artifact}; training and evaluation now use it.")
