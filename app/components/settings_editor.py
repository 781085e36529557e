"""Widgets that edit a stage's settings dataclass field by field; returns the edited dict."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

import streamlit as st

from pipelines.config import readable_name, setting_label

FIXED = {"method", "label_set", "dictionary"}  # chosen outside the editor
COLUMNS = 4


def settings_editor(config, key: str) -> dict:
    """One widget per setting, grouped by section; `key` must change when the defaults do.
    Labels, help and choices come from each field's metadata (pipelines.config.setting)."""
    return _section(config, key)


def _section(config, key: str) -> dict:
    edited = {f.name: getattr(config, f.name) for f in fields(config) if f.name in FIXED}
    hidden = [f for f in fields(config) if not _applies(config, f)]
    edited |= {f.name: getattr(config, f.name) for f in hidden}  # kept at their defaults
    scalars = [
        f for f in fields(config)
        if f.name not in FIXED and not _nested(config, f) and _applies(config, f)
    ]  # fmt: skip
    columns = st.columns(COLUMNS)
    for i, f in enumerate(scalars):
        with columns[i % COLUMNS]:
            edited[f.name] = _widget(f, getattr(config, f.name), f"{key}.{f.name}")
    for f in fields(config):
        if _nested(config, f):
            st.markdown(f"**{readable_name(f.name)}**")
            edited[f.name] = _section(getattr(config, f.name), f"{key}.{f.name}")
    return edited


def _applies(config, f) -> bool:
    """Whether a setting applies to the config's method (settings for other methods hide)."""
    methods = f.metadata.get("methods")
    return not methods or getattr(config, "method", None) in methods


def _nested(config, f) -> bool:
    return is_dataclass(getattr(config, f.name))


def _widget(f, value, key: str):
    label, help_text = setting_label(f), f.metadata.get("help") or None
    choices = f.metadata.get("choices")
    if choices:
        options = list(choices)
        return st.selectbox(label, options, index=options.index(value), key=key, help=help_text)
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=key, help=help_text)
    if isinstance(value, int):
        return int(st.number_input(label, value=value, step=1, key=key, help=help_text))
    if isinstance(value, float):
        step = abs(value) / 10 if value else 0.1
        return float(
            st.number_input(label, value=value, step=step, format="%g", key=key, help=help_text)
        )
    return st.text_input(label, value=value or "", key=key, help=help_text)
