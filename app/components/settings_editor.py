"""Widgets that edit a stage's settings dataclass field by field; returns the edited dict."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from pipelines.evaluation.project import JUDGES
from pipelines.training.loop import PRECISIONS, SCHEDULES
from pipelines.whp.labels import MODES

CHOICES = {"schedule": SCHEDULES, "precision": PRECISIONS, "mode": MODES, "judge": JUDGES}
FIXED = {"method", "label_set", "dictionary"}  # chosen outside the editor
COLUMNS = 4


def settings_editor(config, key: str) -> dict:
    """One widget per setting, grouped by section; `key` must change when the defaults do."""
    return _section(asdict(config), key)


def _section(data: dict, key: str) -> dict:
    edited = {name: value for name, value in data.items() if name in FIXED}
    scalars = [(n, v) for n, v in data.items() if n not in FIXED and not isinstance(v, dict)]
    columns = st.columns(COLUMNS)
    for i, (name, value) in enumerate(scalars):
        with columns[i % COLUMNS]:
            edited[name] = _widget(name, value, f"{key}.{name}")
    for name, value in data.items():
        if isinstance(value, dict):
            st.markdown(f"**{name}**")
            edited[name] = _section(value, f"{key}.{name}")
    return edited


def _widget(name: str, value, key: str):
    label = name.replace("_", " ")
    if name in CHOICES:
        options = list(CHOICES[name])
        return st.selectbox(label, options, index=options.index(value), key=key)
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=key)
    if isinstance(value, int):
        return int(st.number_input(label, value=value, step=1, key=key))
    if isinstance(value, float):
        step = abs(value) / 10 if value else 0.1
        return float(st.number_input(label, value=value, step=step, format="%g", key=key))
    return st.text_input(label, value=value or "", key=key)
