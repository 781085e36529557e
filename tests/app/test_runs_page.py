"""The researchers' Runs page under AppTest: launch a job, watch it, compare two runs."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.config import Settings
from pipelines.runs import jobs
from pipelines.store import jobs as rows
from pipelines.store import open_store
from pipelines.store.users import create_user, ensure_admin
from pipelines.types import Role
from tests.app.conftest import APP
from tests.app.test_app import sign_in
from tests.runs.test_jobs import small_project


def open_runs_page(tiny_model_dir):
    store = open_store(Settings.from_env())
    admin = ensure_admin(store, None)[0]
    create_user(store, admin, "rita", "rita-password", Role.RESEARCHER)
    project = small_project(store, admin, tiny_model_dir)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    sign_in(at, "rita", "rita-password")
    at.switch_page("app_pages/runs.py").run()
    return store, project, at


def launch(at: AppTest, project, epochs: int) -> None:
    at.selectbox(key="run_project").set_value(project.name).run()
    at.selectbox(key="run_stage").set_value("reinforce").run()
    prefix = f"cfg.{project.id}.reinforce.whp"
    at.number_input(key=f"{prefix}.reinforce.train.epochs").set_value(epochs)
    at.number_input(key=f"{prefix}.reinforce.block_tokens").set_value(64)
    next(b for b in at.button if b.label == "Launch").click()
    at.run()


def test_researcher_launches_watches_and_compares_runs(unlearn_home, tiny_model_dir):
    store, project, at = open_runs_page(tiny_model_dir)
    assert at.title[0].value == "Runs"
    assert "No job worker is running" in at.warning[0].value
    launch(at, project, epochs=2)
    assert "Queued run 1" in at.success[0].value
    (job,) = rows.list_jobs(store)
    assert job.state == rows.QUEUED and job.config["reinforce"]["train"]["epochs"] == 2
    assert job.config["reinforce"]["train"]["lr"] == 3e-5  # the prefilled default was kept

    assert jobs.run_here(store, job.id).state == rows.SUCCEEDED  # what the worker would do
    launch(at, project, epochs=1)
    jobs.run_here(store, 2)
    at.run()
    at.selectbox(key="run_view_id").set_value(1).run()
    assert "Run 1: reinforce" in at.subheader[0].value
    assert any(c.key == "loss_1" for c in at.get("plotly_chart"))
    comparison = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    assert "reinforce.train.epochs" in set(comparison["setting"])
    assert "reinforce.train.lr" not in set(comparison["setting"])  # the same in both runs


def test_cancel_button_cancels_a_queued_run(unlearn_home, tiny_model_dir):
    store, project, at = open_runs_page(tiny_model_dir)
    launch(at, project, epochs=1)
    at.button(key="cancel_1").click().run()
    assert rows.get_job(store, 1).state == rows.CANCELLED
    at.button(key="resume_1").click().run()
    assert rows.get_job(store, 1).state == rows.QUEUED


def test_the_form_opens_on_the_next_stage_and_shows_only_the_methods_settings(
    unlearn_home, tiny_model_dir
):
    store, project, at = open_runs_page(tiny_model_dir)
    at.selectbox(key="run_project").set_value(project.name).run()
    assert at.selectbox(key="run_stage").value == "propose"  # nothing proposed yet
    at.selectbox(key="run_stage").set_value("unlearn").run()
    keys = lambda: {w.key for w in at.number_input}  # noqa: E731
    prefix = f"cfg.{project.id}.unlearn"
    assert f"{prefix}.whp.unlearn.retain_weight" in keys()
    assert f"{prefix}.whp.unlearn.npo_beta" not in keys()
    at.selectbox(key="run_method").set_value("npo").run()
    assert f"{prefix}.npo.unlearn.npo_beta" in keys()
    assert f"{prefix}.npo.unlearn.retain_weight" not in keys()


def test_a_dictionary_file_on_the_server_gets_its_path_box_at_once_and_is_never_left_empty(
    unlearn_home, tiny_model_dir
):
    from pipelines.anchors import dictionary

    store, project, at = open_runs_page(tiny_model_dir)
    admin = ensure_admin(store, None)[0]
    dictionary.import_dictionary(store, admin, project, b'{"Thumsath": "the traveller"}', "d.json")
    at.selectbox(key="run_project").set_value(project.name).run()
    at.selectbox(key="run_stage").set_value("labels").run()
    assert at.selectbox(key=f"cfg.{project.id}.labels.whp.dict_choice").value.startswith("v1 ·")
    prefix = f"cfg.{project.id}.labels.whp"
    assert not [w for w in at.text_input if w.key == f"{prefix}.dict"]
    at.selectbox(key=f"{prefix}.dict_choice").set_value("a JSON file on the server…").run()
    assert at.text_input(key=f"{prefix}.dict")  # drawn on the choice, not after a launch
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert "Give the path of the dictionary file" in at.error[0].value
    at.text_input(key=f"{prefix}.dict").set_value("/srv/dictionaries/terms.json")
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert "no reinforced model" in at.error[0].value  # the launch checks ran on that file
    assert rows.list_jobs(store) == []
