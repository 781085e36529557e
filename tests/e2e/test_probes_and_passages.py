"""Issue 26's pages in a real browser: two reviewers on the passage queue at once, a researcher
editing the probe set, and the live probe curve of an unlearning run that keeps a checkpoint."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.components import passage_review, probe_table
from pipelines.anchors import dictionary
from pipelines.augment import passages as gen
from pipelines.augment import project as augment
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.store.users import create_user
from pipelines.types import Role
from tests.conftest import DEMO, make_labelled_project
from tests.e2e.browser import (
    SHOTS,
    choose,
    launch_run,
    settle,
    sign_in,
    wait_for_draft,
    watched,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EDIT = "Helen kept a lantern lit in the window for every boat that came home late."


@pytest.fixture
def tiny(store, admin, tiny_model_dir):
    """The tiny project with a published dictionary, a probe set and three passages."""
    project = make_labelled_project(store, admin, tiny_model_dir, "Tiny", "book1.md")[0]
    reference = (DEMO / "reference_dictionary.json").read_bytes()
    dictionary.import_dictionary(store, admin, project, reference, "reference.json")
    probes = [
        cloze.Probe(
            f"The old sailor walked to the harbour of town {i}",
            "Skoholm",
            split=cloze.SPLITS[i % 2],
            base_probability=0.3,
        )
        for i in range(4)
    ]
    probes += eval_project.neighbour_probes([])
    eval_project.save_probe_set(store, admin, project, probes, "cloze")
    text = "Thumsath walked to Skoholm {} times along the long road by the river."
    made = [gen.Passage(str(i), "Thumsath", "summary", text.format(i), "model") for i in range(3)]
    augment.save(store, admin, project, made, "model")
    people = {}
    for name, role in (("rev", Role.REVIEWER), ("rev2", Role.REVIEWER), ("res", Role.RESEARCHER)):
        people[name] = create_user(store, admin, name, f"{name}-password", role)
    return project, people


def open_page(page, server, user: str, link: str, heading: str) -> None:
    sign_in(page, server, user, f"{user}-password")
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).wait_for()
    choose(page, "Project", "Tiny")


def reload(page, heading: str) -> None:
    page.reload()
    page.get_by_role("heading", name=heading).wait_for()
    choose(page, "Project", "Tiny")


def shot(page, name: str) -> None:
    settle(page)
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / name, full_page=True)


def test_two_reviewers_a_researcher_and_the_live_probe_curve(store, tiny, server, page):
    tiny, people = tiny
    set_id = augment.passage_sets(store, tiny)[0].id
    other = page.context.browser.new_context(viewport={"width": 1280, "height": 1000})
    second = watched(other.new_page())
    open_page(page, server, "rev", "Generated passages", "Generated passages")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Passage 2", exact=False).first.wait_for()
    # the second reviewer opens the queue on the first pending passage, types an edit of it,
    # then reloads before deciding; the first reviewer stays signed in on the same queue
    open_page(second, server, "rev2", "Generated passages", "Generated passages")
    second.get_by_text("Passage 2", exact=False).first.wait_for()
    box = second.get_by_label("Passage (edit it to correct it)")
    box.fill(EDIT)
    box.press("Tab")
    wait_for_draft(store, people["rev2"], passage_review.DRAFT, set_id * 100_000 + 1)
    reload(second, "Generated passages")
    expect(second.get_by_label("Passage (edit it to correct it)")).to_have_value(EDIT)
    shot(second, "50-reviewer-passage-draft.png")
    second.get_by_role("button", name="Approve").click()
    settle(second)
    reload(page, "Generated passages")
    shot(page, "51-reviewer-passages.png")
    items = augment.in_force(store, tiny, set_id)
    assert [(i.passage.status, i.reviewer) for i in items[:2]] == [
        ("approved", "rev"), ("approved", "rev2")]  # fmt: skip
    assert items[1].passage.text == EDIT
    assert not page.get_by_text("Traceback").count() and not second.get_by_text("Traceback").count()
    other.close()

    # the researcher adds a probe, reloads, saves the version, then unlearns with it
    page.get_by_role("button", name="Sign out").click()
    open_page(page, server, "res", "Book probes", "Book probes")
    page.get_by_label("Prompt (the text up to the answer)").fill("The name of the old sailor is")
    answer = page.get_by_label("Answer", exact=True)
    answer.fill("Thumsath")
    answer.press("Enter")  # Enter in a form's last box submits it, as "Add probe" does
    wait_for_draft(store, people["res"], probe_table.DRAFT, tiny.id)
    reload(page, "Book probes")
    page.get_by_text("unsaved edits are restored").wait_for()
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("Saved probe set").wait_for()
    shot(page, "52-researcher-probes.png")
    assert eval_project.probe_set(store, tiny)[-1].answer == "Thumsath"

    page.get_by_role("link", name="Runs").click()
    page.get_by_role("heading", name="Runs").wait_for()
    settle(page)
    launch_run(page, "unlearn: the unlearning fine-tune", {"Epochs": "2", "Learning rate": "0.005"})
    page.get_by_text("succeeded ·", exact=False).wait_for(timeout=180_000)
    page.get_by_text("probes while training").wait_for()
    page.get_by_text("Checkpoint kept: step").wait_for()
    page.locator(".js-plotly-plot").nth(1).scroll_into_view_if_needed()
    shot(page, "53-researcher-probe-curve.png")
