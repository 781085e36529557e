"""Issue 29: no page shows a code name. Every page, as an admin on a project that has been
through labels, is scanned for snake_case identifiers in its text, labels, options, columns."""

from __future__ import annotations

import json
import re

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tests.app.test_app import sign_in
from tests.conftest import ADMIN_PASSWORD, make_labelled_project

PAGES = ["projects", "reports", "anchor_terms", "anchor_dictionary", "generic_review",
         "judge_review", "passages", "probes", "runs", "playground", "admin", "audit"]  # fmt: skip
CODE_NAME = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\bNone\b|\bartefact \d+|\bnan\b")
TEXT = ("markdown", "caption", "text", "info", "warning", "success", "error", "title", "header",
        "subheader")  # fmt: skip
WIDGETS = ("selectbox", "text_input", "number_input", "checkbox", "radio", "multiselect",
           "text_area", "slider", "toggle", "button")  # fmt: skip


def shown_text(at: AppTest) -> list[str]:
    """What a person reads on the page: text, widget labels and options, column and tab names."""
    out = [str(e.value) for kind in TEXT for e in at.get(kind)]
    for kind in WIDGETS:
        for widget in at.get(kind):
            out.append(str(widget.label))
            out += [str(o) for o in getattr(widget, "options", [])]
    for frame in at.get("dataframe"):
        shown_as = json.loads(frame.proto.columns or "{}")  # column_config's labels
        for column in frame.value.columns:
            out.append(str(shown_as.get(str(column), {}).get("label") or column))
    out += [str(e.label) for kind in ("metric", "tab", "expander") for e in at.get(kind)]
    return out


def test_no_page_shows_a_code_name(store, admin, tiny_model_dir):
    make_labelled_project(store, admin, tiny_model_dir, "Tiny")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    sign_in(at, "admin", ADMIN_PASSWORD)
    found, read = {}, {}
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, page
        for box in at.selectbox:
            if box.label == "Project" and "Tiny" in box.options:
                box.set_value("Tiny").run()
        read[page] = shown_text(at)
        names = {m for text in read[page] if "://" not in text for m in CODE_NAME.findall(text)}
        if names:
            found[page] = sorted(names)
    assert found == {}
    # the scan reads what is there: the launch form's settings, the label review queue
    assert {"Launch", "Stage"} <= set(read["runs"])
    assert any("Label set" in t for t in read["generic_review"])
