"""The Book probes and Generated passages pages under AppTest, as a reviewer: typed work
survives a reload, decisions are stored with who made them, and nothing raises."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.augment import passages as gen
from pipelines.augment import project as augment
from pipelines.config import Settings
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.store import open_store
from pipelines.store.projects import list_projects
from pipelines.store.users import ensure_admin
from pipelines.types import Role
from tests.app.conftest import APP
from tests.app.test_app import add_user, sign_in


def demo(store):
    return next(p for p in list_projects(store) if p.name == "Demo")


def reviewer_app(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    sign_in(at, "rev", "rev-password")
    at.switch_page(page).run()
    return at


def seeded(unlearn_home):
    st.cache_resource.clear()
    AppTest.from_file(APP, default_timeout=60).run()  # migrates and seeds the Demo project
    add_user("rev", Role.REVIEWER)
    store = open_store(Settings.from_env())
    return store, ensure_admin(store, None)[0], demo(store)


def test_a_reviewer_adds_a_probe_that_survives_a_reload_and_saves_a_version(unlearn_home):
    store, admin, project = seeded(unlearn_home)
    first = [cloze.Probe("Thumsath walked every morning to the harbour of", "Skoholm",
                         split="tuning", base_probability=0.4)]  # fmt: skip
    eval_project.save_probe_set(store, admin, project, first, "cloze")
    at = reviewer_app("app_pages/probes.py")
    assert at.title[0].value == "Book probes" and not at.exception
    assert at.data_editor[0].value["answer"].tolist() == ["Skoholm"]
    at.text_input(key=f"probe_prompt_{project.id}").input("The old sailor of the village was")
    at.text_input(key=f"probe_answer_{project.id}").input("Thumsath")
    next(b for b in at.button if b.label == "Add probe").click()
    at.run()
    assert at.data_editor[0].value["answer"].tolist() == ["Skoholm", "Thumsath"]

    again = reviewer_app("app_pages/probes.py")  # a reload: the draft brings the row back
    assert again.data_editor[0].value["answer"].tolist() == ["Skoholm", "Thumsath"]
    assert "unsaved edits are restored" in again.caption[-1].value
    again.button(key="probes_save").click().run()
    assert not again.exception and "Saved probe set" in again.success[0].value
    saved = eval_project.probe_set(store, project)
    assert [p.answer for p in saved] == ["Skoholm", "Thumsath"] and saved[1].source == "person"


def test_a_reviewer_approves_rejects_and_edits_passages(unlearn_home):
    store, admin, project = seeded(unlearn_home)
    made = [gen.Passage(str(i), "Thumsath", "summary", f"Thumsath walked to the sea {i} times.",
                        "model") for i in range(3)]  # fmt: skip
    set_id = augment.save(store, admin, project, made, "model")
    at = reviewer_app("app_pages/passages.py")
    assert at.title[0].value == "Generated passages" and not at.exception
    next(b for b in at.button if b.label == "Approve").click()
    at.run()
    next(b for b in at.button if b.label == "Reject").click()
    at.run()
    edited = "Thumsath kept a lantern lit for the boats that came home late."
    at.text_area(key=f"passage_text_{set_id}_2").input(edited).run()

    again = reviewer_app("app_pages/passages.py")  # a reload keeps the typed edit
    assert again.text_area(key=f"passage_text_{set_id}_2").value == edited
    next(b for b in again.button if b.label == "Approve").click()
    again.run()
    assert not again.exception
    items = augment.in_force(store, project, set_id)
    assert [i.passage.status for i in items] == ["approved", "rejected", "approved"]
    assert items[2].passage.text == edited and {i.reviewer for i in items} == {"rev"}
    assert not [b for b in again.button if b.key == "passages_add"]  # a researcher's action
