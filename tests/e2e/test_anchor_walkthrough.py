"""Issue 4 in a real browser: annotate, disagree, settle, publish, and a Label Studio round trip."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pipelines.anchors import dictionary
from pipelines.anchors import label_studio as ls
from pipelines.anchors import propose as anchors
from pipelines.anchors import queue as annotation_queue
from pipelines.anchors.queue import DRAFT_KIND
from pipelines.store.projects import get_project
from pipelines.store.users import actor_for, create_user
from pipelines.types import Role
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import SHOTS, open_options, settle, sign_in, wait_for_draft
from tests.servers import LS_BIN, LS_TOKEN, LS_USER, label_studio_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def people(store, admin):
    for name, role in [("ann1", Role.ANNOTATOR), ("ann2", Role.ANNOTATOR), ("rev", Role.REVIEWER)]:
        create_user(store, admin, name, f"{name}-password", role)


@pytest.fixture
def label_studio_url(tmp_path):
    if not LS_BIN.exists():
        pytest.skip(f"Label Studio is not installed at {LS_BIN} (make test installs it)")
    with label_studio_server(tmp_path / "ls") as url:
        yield url


def open_page(page, server, user: str, link: str) -> None:
    password = ADMIN_PASSWORD if user == "admin" else f"{user}-password"
    sign_in(page, server, user, password)
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=link).wait_for()
    settle(page)


def shot(page, name: str) -> None:
    """A screenshot tall enough for the whole page (Streamlit scrolls inside its own frame)."""
    settle(page)
    page.set_viewport_size({"width": 1280, "height": 1700})
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / name)
    page.set_viewport_size({"width": 1280, "height": 1000})


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def annotate_first_chunk(page, item, translation: str) -> None:
    """Retranslate the chunk's first term, drop its second, submit."""
    first, second = annotation_queue.terms_of(item.spans)[:2]
    box = page.get_by_role("textbox", name=f"translation of {first.text}", exact=True)
    box.fill(translation)
    box.press("Enter")
    settle(page)
    page.locator('[data-testid="stCheckbox"] label').nth(1).click()
    settle(page)
    page.get_by_role("button", name="Submit this chunk").click()
    page.get_by_text("You have submitted 1 of").wait_for()
    settle(page)


def test_annotators_reviewer_and_researcher_build_the_dictionary(
    store, admin, people, server, page, label_studio_url
):
    project = get_project(store, "Demo")
    open_page(page, server, "admin", "Anchor dictionary")
    page.get_by_role("tab", name="Proposals").click()
    page.get_by_role("button", name="Run proposers").click()
    # a job: the worker starts a process that loads spaCy (slow on a cold, fresh install)
    page.get_by_text("ner: ", exact=False).wait_for(timeout=240_000)
    shot(page, "20-dictionary-proposals.png")
    sign_out(page)

    item = annotation_queue.queue(store, project, "ann1")[0]
    term = annotation_queue.terms_of(item.spans)[0].text
    open_page(page, server, "ann1", "Anchor terms")
    page.get_by_role("button", name="Submit this chunk").wait_for()
    shot(page, "21-anchor-terms.png")
    annotate_first_chunk(page, item, "Robin Fairweather")
    sign_out(page)
    open_page(page, server, "ann2", "Anchor terms")  # the same chunk leads ann2's queue too
    annotate_first_chunk(page, item, "Sam Hollis")
    sign_out(page)

    conflict = dictionary.consolidate(store, project)[anchors.term_key(term)]
    assert conflict.status == "conflict"
    open_page(page, server, "rev", "Anchor dictionary")
    page.get_by_role("tab", name="Conflicts (1)").click()
    page.get_by_text("translations differ", exact=False).wait_for()
    page.locator('[data-testid="stRadio"]').get_by_text("Sam Hollis").click()
    shot(page, "22-dictionary-conflict.png")
    page.get_by_role("button", name="Settle").click()
    page.get_by_role("tab", name="Conflicts (0)").wait_for()
    sign_out(page)

    open_page(page, server, "admin", "Anchor dictionary")
    page.get_by_role("tab", name="Versions").click()
    page.get_by_role("button", name="Publish a new version").click()
    page.get_by_text("Published v1", exact=False).wait_for()
    shot(page, "23-dictionary-published.png")
    published = dictionary.as_mapping(
        dictionary.read_version(dictionary.versions(store, project)[0].path)
    )
    assert published[term] == "Sam Hollis"
    page.get_by_role("tab", name="Terms").click()
    shot(page, "25-dictionary-terms.png")

    # The same chunk through Label Studio: push from the page, annotate there as ann1 did,
    # pull from the page; the spans come back unchanged.
    page.get_by_role("tab", name="Label Studio").click()
    page.get_by_role("textbox", name="Label Studio URL").fill(label_studio_url)
    page.get_by_role("textbox", name="Access token").fill(LS_TOKEN)
    page.get_by_role("button", name="Push chunks").click()
    page.get_by_text("72 tasks added", exact=False).wait_for(timeout=60_000)
    settle(page)
    ann1 = dictionary.latest_by_annotator(store, project)[item.chunk_id]["ann1"]["spans"]
    client = ls.connect(ls.Connection(label_studio_url, LS_TOKEN))
    ls_project = ls.find_project(client, project.name)
    (task,) = [t for t in client.tasks.list(project=ls_project.id)
               if t.data["chunk_id"] == item.chunk_id]  # fmt: skip
    client.annotations.create(id=task.id, result=ls.regions(item.text, ann1), lead_time=20.0)
    page.get_by_role("button", name="Pull annotations").click()
    page.get_by_text("Stored 1 annotations", exact=False).wait_for(timeout=60_000)
    shot(page, "24-dictionary-label-studio.png")
    back = dictionary.latest_by_annotator(store, project)[item.chunk_id][f"ls:{LS_USER}"]
    assert back["spans"] == ann1


def test_an_annotators_edits_survive_switching_chunks_and_a_reload(
    store, admin, people, server, page
):
    from pipelines.anchors import project as anchor_project

    project = get_project(store, "Demo")
    config = anchors.ProposeConfig(sources=("ner",))
    anchor_project.propose_project(store, admin, project, config)
    item = annotation_queue.queue(store, project, "ann1")[0]
    first = annotation_queue.terms_of(item.spans)[0]
    open_page(page, server, "ann1", "Anchor terms")
    box = page.get_by_role("textbox", name=f"translation of {first.text}", exact=True)
    box.fill("Wren Calloway")
    box.press("Enter")
    settle(page)
    page.locator('[data-testid="stCheckbox"] label').nth(1).click()  # drop the second term
    settle(page)

    def pick_chunk(n: int) -> None:
        open_options(page, "Chunk", exact=False).nth(n).click()
        settle(page)

    def edits_are_there() -> None:
        expect(box).to_have_value("Wren Calloway")
        expect(page.locator('[data-testid="stCheckbox"] input').nth(1)).not_to_be_checked()

    pick_chunk(1)  # another chunk, then back
    pick_chunk(0)
    edits_are_there()
    saved = wait_for_draft(store, actor_for(store, "ann1"), DRAFT_KIND, item.chunk_id)
    assert {t["text"]: t["translation"] for t in saved["terms"]}[first.text] == "Wren Calloway"
    page.reload()  # a new browser session: the draft comes from the server
    page.get_by_role("button", name="Submit this chunk").wait_for()
    settle(page)
    edits_are_there()
    page.get_by_text("saved as a draft", exact=False).wait_for()
    shot(page, "26-anchor-terms-draft-restored.png")
    assert dictionary.latest_by_annotator(store, project).get(item.chunk_id) is None  # a draft


def test_an_annotator_sees_type_reason_and_world_flag_and_can_keep_a_flagged_term(
    store, admin, people, server, page
):
    from pipelines.anchors import project as anchor_project
    from pipelines.store.anchors import proposals_by_chunk, replace_proposals

    project = get_project(store, "Demo")
    anchor_project.propose_project(store, admin, project, anchors.ProposeConfig(sources=("ner",)))
    item = annotation_queue.queue(store, project, "ann1")[0]
    first = annotation_queue.terms_of(item.spans)[0]
    why = "world knowledge: a real place"
    flagged = {"reason": why, "world": True}
    rows = [
        {**s, "chunk_id": chunk_id, **(flagged if s["text"] == first.text else {})}
        for chunk_id, spans in proposals_by_chunk(store, project.id).items()
        for s in spans
    ]
    replace_proposals(store, admin, project.id, "ner", [
        {k: v for k, v in r.items() if k != "source"} for r in rows])  # fmt: skip
    open_page(page, server, "ann1", "Anchor terms")
    page.get_by_text(why, exact=False).first.wait_for()
    keep = page.locator('[data-testid="stCheckbox"] input').nth(0)
    assert not keep.is_checked()  # flagged: not kept unless a person keeps it
    opening = max(item.text.splitlines(), key=len)[:25]
    page.get_by_text(opening, exact=False).first.wait_for()  # the passage is drawn too
    shot(page, "27-anchor-terms-world-flag.png")
    page.locator('[data-testid="stCheckbox"] label').nth(0).click()
    settle(page)
    page.reload()
    page.get_by_role("button", name="Submit this chunk").wait_for()
    settle(page)
    assert page.locator('[data-testid="stCheckbox"] input').nth(0).is_checked()  # the draft
    page.get_by_role("button", name="Submit this chunk").click()
    page.get_by_text("You have submitted 1 of").wait_for()
    submitted = dictionary.latest_by_annotator(store, project)[item.chunk_id]["ann1"]["spans"]
    assert anchors.term_key(first.text) in {anchors.term_key(s["text"]) for s in submitted}


WORD_BOX = """
(word) => {
  const root = document.querySelector('.unl-passage');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.search(new RegExp('\\\\b' + word + '\\\\b'));
    if (at < 0 || node.parentElement.closest('mark')) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + word.length);
    const box = range.getBoundingClientRect();
    return {left: box.left, right: box.right, y: box.top + box.height / 2};
  }
  return null;
}
"""


def unmarked_word(item) -> str:
    """A word of the chunk that no proposed term covers: the one the annotator will mark."""
    taken = [(s["start"], s["end"]) for s in item.spans]
    for match in re.finditer(r"\b[A-Za-z]{5,}\b", item.text):
        free = not any(match.start() < e and s < match.end() for s, e in taken)
        if free and len(re.findall(rf"\b{match.group()}\b", item.text)) == 1:
            return match.group()
    raise AssertionError("the chunk has no free word to mark")


def test_an_annotator_marks_a_term_by_selecting_its_words_in_the_passage(
    store, admin, people, server, page
):
    from pipelines.anchors import project as anchor_project

    project = get_project(store, "Demo")
    anchor_project.propose_project(store, admin, project, anchors.ProposeConfig(sources=("ner",)))
    item = annotation_queue.queue(store, project, "ann1")[0]
    word = unmarked_word(item)
    open_page(page, server, "ann1", "Anchor terms")
    page.locator(".unl-passage").wait_for()
    box = page.evaluate(WORD_BOX, word)
    assert box, f"{word!r} is not drawn in the passage"
    page.mouse.move(box["left"] + 1, box["y"])  # a real drag across the word
    page.mouse.down()
    page.mouse.move(box["right"] - 1, box["y"], steps=5)
    page.mouse.up()
    settle(page)
    expect(page.get_by_role("textbox", name="Words from the chunk")).to_have_value(word)
    page.get_by_role("textbox", name="Generic translation").fill("Ordinary")
    page.get_by_role("button", name="Add term").click()
    settle(page)
    row = page.get_by_role("textbox", name=f"translation of {word}", exact=True)
    expect(row).to_have_value("Ordinary")
    expect(page.locator(".unl-passage mark", has_text=word)).to_have_count(1)
    shot(page, "28-anchor-terms-marked-by-selection.png")
    wait_for_draft(store, actor_for(store, "ann1"), DRAFT_KIND, item.chunk_id)
    page.reload()  # the added term is in the draft on the server
    page.get_by_role("button", name="Submit this chunk").wait_for()
    settle(page)
    expect(row).to_have_value("Ordinary")
    page.get_by_role("button", name="Submit this chunk").click()
    page.get_by_text("You have submitted 1 of").wait_for()
    submitted = dictionary.latest_by_annotator(store, project)[item.chunk_id]["ann1"]["spans"]
    assert {"text": word, "translation": "Ordinary"}.items() <= next(
        s for s in submitted if s["text"] == word
    ).items()
