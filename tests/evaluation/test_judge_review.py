"""People check the judge: kappa by hand, review order, adjusted scores, the pages in AppTest."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.evaluation import judge_review
from pipelines.evaluation.evaluate import EvalConfig
from pipelines.runs import jobs, stages
from pipelines.store import jobs as rows
from pipelines.store.projects import list_artifacts
from pipelines.store.users import create_user
from pipelines.types import ArtifactKind, Role, UnlearnError
from tests.app.conftest import APP
from tests.app.test_app import sign_in
from tests.conftest import make_labelled_project


def item(i, model, category):
    return judge_review.JudgeItem(i, model, "p", "c", "", "greedy", category, "r", "rules")


def test_kappa_matches_a_hand_computed_example():
    items = [item(0, "a", 1), item(1, "a", 1), item(2, "a", 2), item(3, "a", 4)]
    found = {0: {7: 1}, 1: {7: 2}, 2: {7: 2}, 3: {7: 4}}
    stats = judge_review.agreement(items, found)
    # p_o = 3/4; p_e = (2·1 + 1·2 + 1·1) / 16 = 5/16; kappa = (3/4 − 5/16) / (1 − 5/16) = 7/11
    assert stats["judge_vs_people_kappa"] == pytest.approx(7 / 11)
    assert stats["confusion"][0][:2] == [1, 1]  # judge said 1: people said 1 once, 2 once
    assert stats["between_people_kappa"] is None


def test_review_order_puts_borderline_first_and_covers_every_model_and_category():
    items = [
        item(i, m, c) for i, (m, c) in enumerate([(m, c) for m in "ab" for c in (1, 1, 4, 4, 2, 3)])
    ]
    order = judge_review.review_order(items)
    assert sorted(i.id for i in order) == list(range(len(items)))
    assert {i.category for i in order[:4]} == {2, 3}
    first_rest = order[4:8]
    assert {(i.model, i.category) for i in first_rest} == {(m, c) for m in "ab" for c in (1, 4)}


def test_people_replace_the_judge_in_the_adjusted_score():
    items = [item(0, "a", 1), item(1, "a", 4)]
    scores = judge_review.adjusted_scores(items, {0: {5: 4, 6: 4}})
    assert scores["a"] == {"judge": 0.5, "with_people": 0.0}


@pytest.fixture
def evaluated(store, admin, tiny_model_dir):
    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "Eval")
    config = stages.EvaluateJob(models="base,reinforced", eval=EvalConfig(max_new_tokens=4))
    job = jobs.run_here(store, jobs.launch(store, admin, project, "evaluate", config))
    assert job.state == rows.SUCCEEDED, job.error
    (evaluation,) = list_artifacts(store, project.id, ArtifactKind.EVALUATION)
    return project, evaluation


def test_reviewer_checks_verdicts_and_agreement_appears(store, admin, evaluated):
    project, evaluation = evaluated
    create_user(store, admin, "rev", "reviewer-pass", Role.REVIEWER)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    sign_in(at, "rev", "reviewer-pass")
    at.switch_page("app_pages/judge_review.py").run()
    assert at.title[0].value == "Judge review"
    first = judge_review.review_order(judge_review.load_items(evaluation))[0]
    changed = 4 if first.category != 4 else 1
    at.radio(key=f"judge_category_{first.id}").set_value(changed)
    next(b for b in at.button if b.label == "Save verdict").click()
    at.run()
    found = judge_review.decisions(store, project, evaluation.id)
    assert list(found[first.id].values()) == [changed]
    assert "1 / " in at.metric[0].value
    with pytest.raises(UnlearnError, match="category is one of"):
        judge_review.record(store, admin, project, evaluation.id, first.id, 9)


def test_report_page_shows_plots_and_offers_downloads(store, admin, evaluated):
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    sign_in(at, "admin", "admin-pass-123")
    at.switch_page("app_pages/reports.py").run()
    assert at.title[0].value == "Reports"
    assert len(at.get("plotly_chart")) >= 3
    assert {b.label for b in at.get("download_button")} >= {"Download report.html"}
