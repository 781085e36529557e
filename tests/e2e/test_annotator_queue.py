"""Issue 29 in a real browser: after a submit the selector, the passage and the next submit all
name the same chunk; the chosen project survives reloads, page moves and shared links; a page
the role may not open says so."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors import queue as annotation_queue
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.documents import list_documents
from pipelines.store.projects import create_project, get_project, submissions_of_kind
from pipelines.store.users import create_user
from pipelines.types import DocRole, Role
from tests.conftest import DEMO
from tests.e2e.browser import SHOTS, choose, settle, sign_in, watched

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SELECTOR = "Chunk (unsubmitted first, most uncertain first)"


@pytest.fixture
def second(store, admin, tiny_model_dir):
    """A second project (after "Demo" in the list, so never the one shown by default) with
    offline proposals on a few chunks, and an annotator."""
    project = create_project(store, admin, "Second", str(tiny_model_dir))
    upload = ingest.Upload("book3.md", (DEMO / "forget" / "book3.md").read_bytes()[:9000])
    ingest.run(IngestConfig(), [upload], store=store, actor=admin, project_id=project.id,
               role=DocRole.FORGET)  # fmt: skip
    project = get_project(store, project.id)
    anchor_project.propose_project(store, admin, project, anchors.ProposeConfig(sources=("ner",)))
    create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
    return project


def selector_text(page) -> str:
    return page.get_by_role("combobox", name=SELECTOR).input_value()


def plain_fragment(text: str) -> str:
    """Five words in a row that no anchor mark can split (lowercase words only)."""
    words = text.split()
    for i in range(len(words) - 4):
        window = words[i : i + 5]
        if all(w.isalpha() and w.islower() for w in window):
            return " ".join(window)
    raise AssertionError("no plain five-word run in the chunk")


def shows(page, store, project, entry) -> None:
    """The selector names the chunk and the passage is that chunk's text, and stay so."""
    names = {d.id: d.source_name for d in list_documents(store, project.id)}
    label = f"{names[entry.document_id]} · chunk {entry.seq + 1} ·"
    item = annotation_queue.queue_item(store, project, "ann1", entry)
    opening = plain_fragment(item.text)
    selector = page.get_by_role("combobox", name=SELECTOR)
    for _ in range(2):  # once the run settles, and again after the page could change its mind
        settle(page)  # (a button's st.rerun() is a second run the first settle may not see)
        expect(selector).to_have_value(re.compile(re.escape(label)), timeout=5_000)
        page.get_by_text(opening, exact=False).first.wait_for(timeout=5_000)
        page.wait_for_timeout(1_500)


def project_shown(page) -> str:
    return page.get_by_role("combobox", name="Project", exact=True).input_value()


def test_submits_land_on_the_chunk_shown_and_the_project_choice_stays(
    store, admin, second, server, page
):
    sign_in(page, server, "ann1", "ann1-password")
    page.goto(f"{server}/runs")  # a page an annotator may not open, by its address
    page.get_by_text(
        "Runs is open to researchers and admins; you are signed in as annotator"
    ).wait_for()
    settle(page)
    page.screenshot(path=SHOTS / "61-annotator-refused-page.png")
    assert not page.get_by_text("Page not found").count()
    page.get_by_role("link", name="Anchor terms").click()
    page.get_by_role("heading", name="Anchor terms").wait_for()
    choose(page, "Project", "Second")
    page.wait_for_url("**project=Second*", timeout=5_000)  # the address names the project

    # reload, and a move to another page and back, keep the project
    page.reload()
    page.get_by_role("heading", name="Anchor terms").wait_for()
    settle(page)
    assert "Second" in project_shown(page)
    page.get_by_role("link", name="Projects").click()
    page.get_by_role("heading", name="Projects").wait_for()
    settle(page)
    assert "Second" in project_shown(page)
    page.get_by_role("link", name="Anchor terms").click()
    page.get_by_role("heading", name="Anchor terms").wait_for()
    settle(page)
    assert "Second" in project_shown(page)

    # the address alone opens the project, in a session that never chose it
    other = page.context.browser.new_context(viewport={"width": 1280, "height": 1000})
    link = watched(other.new_page())
    sign_in(link, server, "ann1", "ann1-password")
    link.goto(page.url)
    link.get_by_role("heading", name="Anchor terms").wait_for()
    settle(link)
    assert "Second" in project_shown(link)
    other.close()

    # three submits in a row: each lands on the chunk the page shows, never the one before
    queue = annotation_queue.queue_order(store, second, "ann1")
    assert len(queue) >= 3
    order = [e.chunk_id for e in queue]
    shows(page, store, second, queue[0])
    for n in range(3):
        page.get_by_role("button", name="Submit this chunk").click()
        page.get_by_text(f"You have submitted {n + 1} of").wait_for()
        if n < 2:
            after = annotation_queue.queue_order(store, second, "ann1")
            shows(page, store, second, next(e for e in after if e.chunk_id == order[n + 1]))
    settle(page)
    page.set_viewport_size({"width": 1280, "height": 1800})
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / "60-annotator-after-submits.png")
    stored = submissions_of_kind(store, second.id, dictionary.CHUNK_KIND, username="ann1")
    assert [row.item_id for row in stored] == order[:3]  # three chunks, each once, in order

    # the queue's keys: N shows the chunk after, P the one before, Ctrl+Enter submits
    now = annotation_queue.queue_order(store, second, "ann1")
    at = next(n for n, e in enumerate(now) if e.chunk_id == order[3])
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.keyboard.press("n")
    shows(page, store, second, now[at + 1])
    page.keyboard.press("p")
    shows(page, store, second, now[at])
    page.keyboard.press("Control+Enter")
    page.get_by_text("You have submitted 4 of").wait_for()
    stored = submissions_of_kind(store, second.id, dictionary.CHUNK_KIND, username="ann1")
    assert [row.item_id for row in stored] == order[:4]
    assert not page.get_by_text("Traceback").count()
