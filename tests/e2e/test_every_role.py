"""Issue 8's walk-through in a real browser: every role does its part of the loop in turn."""

from __future__ import annotations

import re

import pytest

from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors import queue as annotation_queue
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.users import create_user
from pipelines.types import DocRole, Role
from tests.conftest import ADMIN_PASSWORD, DEMO, REPO, make_labelled_project
from tests.e2e.browser import SHOTS, choose, launch_run, settle, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOUR = REPO / "docs" / "screenshots"
ACCEPT_BUTTON = re.compile(r"^Accept(?! all)")  # the one item's button, its key shown beside it
PEOPLE = {"ann": "annotator", "rev": "reviewer", "res": "researcher"}


@pytest.fixture
def tiny(store, admin, tiny_model_dir):
    """A project on the tiny model (reinforced, labelled), with offline proposals, and another
    annotator's earlier submission on the chunk our annotator will get first."""
    project = make_labelled_project(store, admin, tiny_model_dir, "Tiny", "book1.md")[0]
    config = anchors.ProposeConfig(sources=("ner", "stats"), min_ratio=1.0)
    anchor_project.propose_project(store, admin, project, config)
    # retain text (after the proposals): the evaluation measures retain perplexity, the report's
    # trade-off plot's cost axis
    retain = ingest.Upload("village.md", (DEMO / "retain" / "village-tales.md").read_bytes()[:6000])
    ingest.run(IngestConfig(), [retain], store=store, actor=admin, project_id=project.id,
               role=DocRole.RETAIN)  # fmt: skip
    earlier = create_user(store, admin, "ann0", "ann0-password", Role.ANNOTATOR)
    item = annotation_queue.queue(store, project, "ann")[0]
    terms = annotation_queue.terms_of(item.spans)
    terms[0].translation = "Zed Other"
    spans = annotation_queue.spans_from_terms(item.text, terms)
    dictionary.submit_chunk(store, earlier, project, item.chunk_id, item.text, spans)
    return project, item


def shot(page, name: str, tour: str | None = None) -> None:
    settle(page)
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / name)
    if tour:
        page.screenshot(path=TOUR / tour)
    page.set_viewport_size({"width": 1280, "height": 1000})


def go(page, link: str, heading: str | None = None) -> None:
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading or link).wait_for()
    settle(page)


def as_user(page, server, name: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    password = ADMIN_PASSWORD if name == "admin" else f"{name}-password"
    sign_in(page, server, name, password)


def test_every_role_walks_the_loop(store, tiny, server, page):
    project, item = tiny
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    go(page, "Users", "Create a user")
    for name, role in PEOPLE.items():
        page.get_by_role("textbox", name="Username").fill(name)
        page.get_by_role("textbox", name="Initial password").fill(f"{name}-password")
        choose(page, "Role", role)
        page.get_by_role("button", name="Create user").click()
        page.get_by_text(f"Created {name} ({role}).").wait_for()
        settle(page)
    shot(page, "30-admin-users.png", "tour-admin-users.png")

    # The annotator retranslates the chunk's first term: the earlier annotator disagrees.
    as_user(page, server, "ann")
    go(page, "Anchor terms")
    choose(page, "Project", "Tiny")
    page.get_by_role("button", name="Submit this chunk").wait_for()
    first = annotation_queue.terms_of(item.spans)[0].text
    box = page.get_by_role("textbox", name=f"translation of {first}", exact=True)
    box.fill("Robin Fairweather")
    box.press("Enter")
    shot(page, "31-annotator-anchor-terms.png", "tour-annotator.png")
    page.get_by_role("button", name="Submit this chunk").click()
    page.get_by_text("You have submitted 1 of").wait_for()
    assert dictionary.consolidate(store, project)[anchors.term_key(first)].status == "conflict"

    # The reviewer settles the conflict and reviews a low-confidence generic label.
    as_user(page, server, "rev")
    go(page, "Anchor dictionary")
    choose(page, "Project", "Tiny")
    page.get_by_role("tab", name="Conflicts (1)").click()
    page.locator('[data-testid="stRadio"]').get_by_text("Robin Fairweather").click()
    shot(page, "32-reviewer-conflict.png", "tour-reviewer-conflict.png")
    page.get_by_role("button", name="Settle").click()
    page.get_by_role("tab", name="Conflicts (0)").wait_for()
    go(page, "Generic labels", "Generic label review")
    choose(page, "Project", "Tiny")
    page.get_by_role("button", name=ACCEPT_BUTTON).wait_for()
    shot(page, "33-reviewer-generic-label.png", "tour-reviewer-labels.png")
    page.get_by_role("button", name=ACCEPT_BUTTON).click()
    page.get_by_text("You have reviewed 1 of").wait_for()
    page.keyboard.press("x")  # the reject key, then the undo key takes that back
    page.get_by_text("You have reviewed 2 of").wait_for()
    page.keyboard.press("u")
    page.get_by_text("You have reviewed 1 of").wait_for()

    # The researcher publishes the dictionary, then unlearns and evaluates as jobs.
    as_user(page, server, "res")
    go(page, "Anchor dictionary")
    choose(page, "Project", "Tiny")
    page.get_by_role("tab", name="Versions").click()
    page.get_by_role("button", name="Publish a new version").click()
    page.get_by_text("Published v1", exact=False).wait_for()
    assert (
        dictionary.as_mapping(dictionary.read_version(dictionary.versions(store, project)[0].path))[
            first
        ]
        == "Robin Fairweather"
    )
    go(page, "Runs")
    launch_run(page, "unlearn: the unlearning fine-tune", {"Epochs": "1", "Learning rate": "0.001"})
    page.get_by_text("succeeded ·", exact=False).wait_for(timeout=180_000)
    shot(page, "34-researcher-run.png", "tour-researcher-run.png")
    launch_run(page, "evaluate: familiarity and retain perplexity", {"Max new tokens": "4"})
    # two models, each: completions, MUSE's metrics and the quantisation probe
    page.get_by_text("succeeded · 6/6").wait_for(timeout=300_000)

    # The reviewer checks a judge verdict; the report shows its plots.
    as_user(page, server, "rev")
    go(page, "Judge verdicts", "Judge review")
    page.get_by_role("button", name="Save verdict").wait_for()
    shot(page, "35-reviewer-judge.png", "tour-reviewer-judge.png")
    page.get_by_role("button", name="Save verdict").click()
    page.get_by_text("You have checked 1 of").wait_for()
    go(page, "Reports")
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)
    shot(page, "36-report.png", "tour-report.png")
    page.get_by_text("Stars are on the Pareto front").wait_for()  # one evaluated run, plotted
    page.get_by_text("Every run of this project").scroll_into_view_if_needed()
    page.locator(".legendtext", has_text="Pareto front").first.wait_for(state="attached")
    shot(page, "37-report-tradeoff.png")
