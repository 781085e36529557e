"""Real browser (Debian chromium via Playwright) against `unlearn app` served on localhost."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, REPO, make_labelled_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "test-artifacts" / "e2e"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{proc.stdout.read()}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("app did not become healthy")


@pytest.fixture
def server(unlearn_home):
    port = free_port()
    unlearn = shutil.which("unlearn", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen(
        [unlearn, "app", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser.new_page(viewport={"width": 1280, "height": 1000})
        browser.close()


def settle(page) -> None:
    """Wait until Streamlit has finished the rerun an action started (its status widget goes)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Projects").wait_for()


def test_admin_creates_project_uploads_and_reads_chunks_annotator_sees_less(server, page, tmp_path):
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_text("of the document").wait_for()  # the seeded Demo project is there
    page.screenshot(path=SHOTS / "01-projects-demo.png")

    page.get_by_text("New project").click()
    page.get_by_role("textbox", name="Name").fill("Leaked memo")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Created project Leaked memo.").wait_for()

    memo = tmp_path / "memo.txt"
    page.get_by_role("tab", name="Upload").click()
    memo.write_text("Quarterly plan for <script>alert(1)</script> Project Kestrel.\n\nSecond part.")
    page.locator("input[type=file]").set_input_files(str(memo))
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
