"""Real browser (Debian chromium via Playwright) against `unlearn app` served on localhost."""

from __future__ import annotations

import os
import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD, REPO, make_labelled_project
from tests.e2e.browser import (
    SHOTS,
    choose,
    launch_run,
    open_options,
    settle,
    sign_in,
    watched,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_admin_creates_project_uploads_and_reads_chunks_annotator_sees_less(server, page, tmp_path):
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_text("of the document").wait_for()  # the seeded Demo project is there
    page.screenshot(path=SHOTS / "01-projects-demo.png")

    page.get_by_text("New project").click()
    page.get_by_role("textbox", name="Name").fill("Leaked memo")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Created project Leaked memo.").wait_for()
    settle(page)  # the page now shows the new project: its upload widget is a new one

    memo = tmp_path / "memo.txt"
    page.get_by_role("tab", name="Upload").last.click()  # a stale copy may linger a moment
    memo.write_text("Quarterly plan for <script>alert(1)</script> Project Kestrel.\n\nSecond part.")
    uploads = page.locator('[data-testid="stFileUploader"]').filter(has_text="Forget or retain")
    uploads.locator("input[type=file]").set_input_files(str(memo))  # not the import tab's
    page.get_by_text("memo.txt", exact=False).first.wait_for()
    page.get_by_role("button", name="Ingest").click()
    page.get_by_text("Added memo.txt: 1 chunks.").wait_for()
    page.screenshot(path=SHOTS / "02-project-upload.png")
    page.get_by_role("tab", name="Documents").click()
    shown = page.get_by_text("<script>alert(1)</script>", exact=False).last  # escaped, as text
    shown.wait_for()
    shown.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "03-project-chunks.png")

    page.get_by_role("link", name="Users").click()
    page.get_by_role("heading", name="Create a user").wait_for()
    page.get_by_role("textbox", name="Username").fill("annie")
    page.get_by_role("textbox", name="Initial password").fill("annie-password")
    page.get_by_role("button", name="Create user").click()
    page.get_by_text("Created annie (annotator).").wait_for()
    page.locator("td[role=gridcell]", has_text="annie").wait_for(state="attached")  # listed now
    page.screenshot(path=SHOTS / "04-admin-users.png")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server, "annie", "annie-password")
    page.get_by_text("of the document").wait_for()
    assert page.get_by_role("link", name="Users").count() == 0
    page.get_by_role("tab", name="Upload").click()
    page.get_by_text("Only researchers and admins upload documents.").wait_for()
    assert page.get_by_role("button", name="Ingest").count() == 0
    page.screenshot(path=SHOTS / "05-annotator-projects.png")


@pytest.fixture
def label_set(store, admin, reviewer_user, tiny_model_dir):
    """A project on the tiny model with a reinforced model and a label set with review items."""
    return make_labelled_project(store, admin, tiny_model_dir, "Tiny", "book3.md")[0]


@pytest.fixture
def reviewer_user(store, admin):
    from pipelines.store.users import create_user
    from pipelines.types import Role

    return create_user(store, admin, "rev", "reviewer-pass", Role.REVIEWER)


def test_reviewer_rejects_and_rewrites_generic_labels(label_set, server, page):
    sign_in(page, server, "rev", "reviewer-pass")
    page.get_by_role("link", name="Generic labels").click()
    page.get_by_role("button", name="Accept").wait_for()
    page.screenshot(path=SHOTS / "06-generic-review.png")
    page.get_by_role("button", name="Reject (mask from the loss)").click()
    page.get_by_text("You have reviewed 1 of").wait_for()
    settle(page)  # the next item's form replaces the previous one during the rerun
    replacement = page.get_by_role("textbox", name="Or type a better generic continuation")
    replacement.fill(" the road")
    assert replacement.input_value() == " the road"
    page.get_by_role("button", name="Save replacement").click()
    page.get_by_text("You have reviewed 2 of").wait_for()
    page.screenshot(path=SHOTS / "07-generic-review-after.png")


@pytest.fixture
def research_project(store, admin, tiny_model_dir):
    """A labelled project on the tiny model and a researcher to drive it."""
    from pipelines.store.users import create_user
    from pipelines.types import Role

    create_user(store, admin, "rita", "research-pass", Role.RESEARCHER)
    return make_labelled_project(store, admin, tiny_model_dir, "Tiny", "book3.md")[0]


def test_researcher_runs_kills_resumes_and_downloads(
    research_project, store, server, page, tmp_path
):
    import zipfile

    from transformers import AutoModelForCausalLM

    from pipelines.store import jobs as rows

    sign_in(page, server, "rita", "research-pass")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("heading", name="Runs").wait_for()
    settings = {"Epochs": "100", "Block tokens": "32", "Checkpoint every": "25"}
    launch_run(page, "reinforce: train further", settings)
    page.get_by_text("running · training · ", exact=False).wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "08-runs-live.png")

    job = rows.list_jobs(store)[0]
    checkpoint = REPO / store.settings.home / "jobs" / str(job.id) / "checkpoints" / "latest"
    for _ in range(300):
        if checkpoint.exists():
            break
        time.sleep(0.1)
    os.kill(rows.get_job(store, job.id).pid, 9)  # the job's process dies halfway
    page.get_by_text("ended without finishing", exact=False).wait_for(timeout=30_000)
    page.screenshot(path=SHOTS / "09-runs-killed.png")
    settle(page)  # the page reruns once when the last live run ends
    page.get_by_role("button", name="Resume").click()
    total = rows.get_job(store, job.id).total
    page.get_by_text(f"succeeded · {total}/{total}").wait_for(timeout=300_000)
    assert rows.get_job(store, job.id).attempt == 2

    launch_run(page, "unlearn: the unlearning", {"Epochs": "1", "Learning rate": "0.001"})
    page.get_by_text("Run 2: unlearn whp").wait_for()
    page.get_by_role("button", name="Prepare model download").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").first.wait_for()
    page.screenshot(path=SHOTS / "10-runs-finished.png", full_page=True)
    page.get_by_role("button", name="Prepare model download").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download model (.zip)").click()
    archive = tmp_path / "model.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "model")
    (folder,) = (tmp_path / "model").iterdir()
    assert AutoModelForCausalLM.from_pretrained(folder) is not None
    assert "Unlearned model" in (folder / "README.md").read_text()


def test_a_reload_or_a_bookmarked_url_keeps_people_signed_in_until_they_sign_out(server, page):
    sign_in(page, server, "admin", ADMIN_PASSWORD)  # waits for the session cookie
    page.reload()
    page.get_by_text("Signed in as").wait_for()
    page.get_by_text("Next: propose anchors", exact=False).wait_for()  # the project's checklist
    page.goto(f"{server}/runs")  # a typed or bookmarked address
    page.get_by_role("tab", name="Launch").wait_for()
    assert page.get_by_text("Page not found").count() == 0
    page.screenshot(path=SHOTS / "06-deep-link-after-reload.png")
    choose(page, "Stage", "unlearn: the unlearning fine-tune")  # no label set yet
    page.get_by_role("button", name="Launch").click()
    page.get_by_text("has no label set; run the labels stage first", exact=False).wait_for()
    assert page.get_by_text("Queued run").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.reload()  # the cookie is still there, but its session was revoked on the server
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0


def test_a_demoted_researcher_loses_the_research_menu_at_once(store, admin, server, page):
    from pipelines.store.users import create_user
    from pipelines.types import Role

    create_user(store, admin, "rhea", "rhea-password", Role.RESEARCHER)
    create_user(store, admin, "rev", "rev-password", Role.REVIEWER)
    researcher = watched(page.context.browser.new_page(viewport={"width": 1280, "height": 1000}))
    sign_in(researcher, server, "rhea", "rhea-password")
    researcher.get_by_role("link", name="Runs").wait_for()

    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Users").click()
    page.get_by_role("heading", name="Create a user").wait_for()
    page.get_by_role("textbox", name="Username").fill(" rev")  # a leading space, "rev" exists
    page.get_by_role("textbox", name="Initial password").fill("another-password")
    page.get_by_role("button", name="Create user").click()
    page.get_by_text("A username is 2-64 characters", exact=False).wait_for()
    assert page.get_by_text("IntegrityError").count() == 0
    page.set_viewport_size({"width": 1280, "height": 1700})  # the account forms in view
    choose(page, "User", "admin")  # the only admin cannot demote themselves
    choose(page, "New role", "annotator")
    page.get_by_role("button", name="Set role").click()
    page.get_by_text("only active admin", exact=False).wait_for()
    choose(page, "User", "rhea")
    choose(page, "New role", "annotator")
    page.get_by_role("button", name="Set role").click()
    page.get_by_text("rhea is annotator.").wait_for()
    page.screenshot(path=SHOTS / "07-admin-demotes.png")

    researcher.get_by_role("link", name="Projects").click()  # the next click of a signed-in rhea
    researcher.get_by_text("Signed in as", exact=False).wait_for()
    settle(researcher)
    assert researcher.get_by_role("link", name="Runs").count() == 0
    researcher.get_by_text("rhea (annotator)", exact=False).wait_for()

    page.get_by_role("link", name="Audit log").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    choose(page, "Action", "user.set_role")
    settle(page)
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for()
    page.screenshot(path=SHOTS / "08-audit-log-role-changes.png")
    assert page.get_by_text("Traceback").count() == 0
    from pipelines.store import audit_log

    changes = audit_log.events(store, admin, action="user.set_role")
    assert [(e.username, e.detail["new"]) for e in changes][:1] == [("admin", "annotator")]


def test_an_open_tab_is_signed_out_by_a_password_reset_and_by_an_expired_session(
    store, admin, server, page
):
    from sqlalchemy import update

    from pipelines.store.tables import SignInSession, utcnow
    from pipelines.store.users import create_user, reset_password
    from pipelines.types import Role

    create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
    sign_in(page, server, "ann1", "ann1-password")
    page.get_by_role("link", name="Anchor terms").wait_for()
    reset_password(store, admin, "ann1", "a-new-password")  # the admin resets it elsewhere
    page.get_by_role("link", name="Anchor terms").click()  # the tab's next click
    page.get_by_text("Your session ended", exact=False).wait_for()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0
    page.screenshot(path=SHOTS / "09-signed-out-after-a-password-reset.png")

    sign_in(page, server, "ann1", "a-new-password")
    page.get_by_role("link", name="Anchor terms").wait_for()
    with store.session() as s:  # the session runs out while the tab is open
        s.execute(update(SignInSession).values(expires_at=utcnow()))
    page.get_by_role("link", name="Projects").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0


@pytest.fixture
def unlearned_project(research_project, store, admin):
    """The labelled tiny project with one unlearned model beside its base."""
    from pipelines.runs import stages
    from pipelines.training.loop import TrainConfig
    from pipelines.training.unlearn import UnlearnConfig

    config = UnlearnConfig(block_tokens=64, train=TrainConfig(epochs=1, lr=1e-3))
    stages.unlearn_project(store, admin, research_project, stages.UnlearnJob(unlearn=config))
    return research_project


def test_the_playground_answers_side_by_side_and_keeps_the_typed_prompt(
    unlearned_project, store, server, page
):
    prompt = "Thumsath Krydrous makes a home in the city of"
    sign_in(page, server, "rita", "research-pass")
    page.get_by_role("link", name="Playground").click()
    page.get_by_role("heading", name="Playground").wait_for()
    choose(page, "Project", "Tiny")
    page.get_by_role("textbox", name="Prompt", exact=True).fill(prompt)
    page.get_by_role("textbox", name="Expected answer (optional)").fill("Ferkfell")
    page.get_by_role("textbox", name="Expected answer (optional)").press(
        "Tab"
    )  # kept as a draft on blur
    settle(page)
    other = watched(page.context.browser.new_page())  # a second person decodes at the same time
    sign_in(other, server, "admin", ADMIN_PASSWORD)
    other.get_by_role("link", name="Playground").click()
    choose(other, "Project", "Tiny")
    other.get_by_role("textbox", name="Prompt", exact=True).fill("The maker of the lamp was")
    other.get_by_role("textbox", name="Prompt", exact=True).press("Tab")
    settle(other)
    other.get_by_role("button", name="Complete").click()
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("P(expected) =").nth(1).wait_for(timeout=120_000)
    other.get_by_text("unlearned #", exact=False).nth(1).wait_for(timeout=120_000)
    assert other.get_by_text("P(expected) =").count() == 0  # no expected answer given there
    expect(other.get_by_text(prompt)).to_have_count(0)  # nobody sees the other's prompt
    page.get_by_text("unlearned #", exact=False).first.wait_for()
    page.get_by_role("button", name="Download as CSV").wait_for()
    page.screenshot(path=SHOTS / "11-playground.png", full_page=True)

    page.reload()  # the typed prompt and answer come back from the stored draft
    page.get_by_role("heading", name="Playground").wait_for()
    choose(page, "Project", "Tiny")
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_have_value(prompt)
    expect(page.get_by_role("textbox", name="Expected answer (optional)")).to_have_value("Ferkfell")

    options = open_options(page, "Evaluation prompt")  # an evaluation prompt fills the box
    picked = options.nth(1).inner_text()
    options.nth(1).click()
    expect(box).to_have_value(re.compile(re.escape(picked[:20])))
    assert "Traceback" not in page.content()


def test_typed_qa_pairs_survive_a_reload_and_become_a_qa_set(research_project, store, server, page):
    from pipelines.evaluation import project as eval_project

    sign_in(page, server, "rita", "research-pass")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("tab", name="Evaluation prompts").click()
    choose(page, "Project", "Tiny")
    page.get_by_role("textbox", name="Question").fill("Who taught Thumsath Krydrous?")
    page.get_by_role("textbox", name="Answer").fill("Zerkmath Minddrei")
    page.get_by_role("button", name="Add pair").click()
    page.get_by_text("Your unsaved edits are restored").wait_for()
    page.screenshot(path=SHOTS / "12-qa-pairs-typed.png", full_page=True)

    page.reload()  # the typed pair is kept as a draft
    page.get_by_role("tab", name="Evaluation prompts").click()
    choose(page, "Project", "Tiny")
    page.get_by_text("Your unsaved edits are restored").wait_for()
    page.get_by_role("button", name="Save as a new QA set").click()
    page.get_by_text("Saved QA set", exact=False).wait_for()
    (pair,) = eval_project.default_qa(store, research_project)
    assert (pair.question, pair.answer, pair.set) == (
        "Who taught Thumsath Krydrous?",
        "Zerkmath Minddrei",
        "forget",
    )
