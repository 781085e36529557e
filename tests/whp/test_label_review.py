"""Review of low-confidence labels: items, per-reviewer decisions, their effect on export."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.store.users import create_user
from pipelines.types import PermissionDenied, Role, UnlearnError
from pipelines.whp import labels as gl
from pipelines.whp import project as whp
from pipelines.whp.review import load_review_items
from tests.conftest import DEMO, make_labelled_project


@pytest.fixture
def labelled(store, admin, tiny_model_dir):
    return make_labelled_project(store, admin, tiny_model_dir, "R")


def test_items_hold_the_least_confident_labels_in_readable_form(labelled):
    _, label_set, summary = labelled
    items = load_review_items(label_set.path)
    assert summary["review_items"] == len(items) > 0
    assert [i.confidence for i in items] == sorted(i.confidence for i in items)
    covered = {(i.block, p) for i in items for p in i.positions}
    low = set()
    for index in range(summary["blocks"]):
        block = gl.load_block(label_set.path, index)
        hits = (block.labels != gl.IGNORE) & (block.confidence <= summary["review_threshold"])
        low |= {(index, int(p)) for p in np.flatnonzero(hits)}
    assert len(low) == summary["to_review"] and low <= covered
    for item in items:
        block = gl.load_block(label_set.path, item.block)
        assert item.positions == list(range(item.positions[0], item.positions[-1] + 1))
        assert block.confidence[item.positions[0]] <= summary["review_threshold"]
        assert item.before and item.proposed and item.translated_before


def test_decisions_are_per_reviewer_and_change_the_export(store, admin, labelled):
    project, label_set, _ = labelled
    rev1 = create_user(store, admin, "rev1", "reviewer-1-pass", Role.REVIEWER)
    rev2 = create_user(store, admin, "rev2", "reviewer-2-pass", Role.REVIEWER)
    annotator = create_user(store, admin, "ann", "annotator-pass", Role.ANNOTATOR)
    items = load_review_items(label_set.path)
    rejected, edited, accepted = items[0], items[1], items[2]
    with pytest.raises(PermissionDenied):
        whp.record_review(
            store, annotator, project, label_set.id, rejected.id, {"decision": "reject"}
        )
    with pytest.raises(UnlearnError, match="replacement"):
        whp.record_review(store, rev1, project, label_set.id, edited.id, {"decision": "edit"})
    whp.record_review(store, rev1, project, label_set.id, rejected.id, {"decision": "accept"})
    whp.record_review(store, rev2, project, label_set.id, rejected.id, {"decision": "reject"})
    whp.record_review(
        store,
        rev1,
        project,
        label_set.id,
        edited.id,
        {"decision": "edit", "replacement": " the quiet road"},
    )
    whp.record_review(store, rev2, project, label_set.id, accepted.id, {"decision": "accept"})
    assert whp.reviewed_by(store, project, label_set.id, rev1.user_id) == {rejected.id, edited.id}

    out_path, counts = whp.export_project_labels(store, project, label_set)
    assert counts == {"items": len(items), "decided": 3, "accept": 1, "reject": 1, "edit": 1}
    exported = np.load(out_path)
    starts = exported["block_starts"]

    def exported_labels(item):
        return exported["labels"][starts[item.block] + np.asarray(item.positions)]

    assert (exported_labels(rejected) == gl.IGNORE).all()  # the newer decision (rev2) wins
    original = gl.load_block(label_set.path, accepted.block).labels[accepted.positions]
    assert (exported_labels(accepted) == original).all()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(project.base_model)
    new = tokenizer(" the quiet road", add_special_tokens=False)["input_ids"]
    got = exported_labels(edited)
    assert list(got[: min(len(new), len(got))]) == new[: len(got)]


def test_reviewer_page_walks_the_queue_and_records_decisions(store, admin, labelled):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.app.test_app import sign_in
    from tests.conftest import REPO

    project, label_set, _ = labelled
    create_user(store, admin, "rev", "reviewer-pass", Role.REVIEWER)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=60).run()
    sign_in(at, "rev", "reviewer-pass")
    at.switch_page("app_pages/generic_review.py").run()
    assert at.title[0].value == "Generic label review"
    items = load_review_items(label_set.path)
    assert len(items) >= 3

    def shown() -> str:
        return next(c.value for c in at.caption if "confidence" in c.value)

    def item_text(item) -> str:
        return (
            f"positions {item.positions[0]}–{item.positions[-1]} · confidence {item.confidence:.2g}"
        )

    assert item_text(items[0]) in shown()
    at.button(key=f"review_at_{label_set.id}_skip").click().run()  # skip, then back
    assert item_text(items[1]) in shown()
    at.button(key=f"review_at_{label_set.id}_back").click().run()
    assert item_text(items[0]) in shown()
    at.button(key="review_reject").click().run()
    assert item_text(items[1]) in shown()
    at.button(key="review_accept").click().run()
    decisions = whp.review_decisions(store, project, label_set.id)
    assert decisions == {
        items[0].id: {"decision": "reject", "replacement": ""},
        items[1].id: {"decision": "accept", "replacement": ""},
    }
    at.button(key="review_undo").click().run()  # takes back the accept, and only that
    assert whp.review_decisions(store, project, label_set.id) == {
        items[0].id: {"decision": "reject", "replacement": ""}}  # fmt: skip
    assert item_text(items[1]) in shown()  # back in this reviewer's queue
    at.button(key="review_accept").click().run()
    assert at.metric[1].value == "2"


def test_a_bulk_decision_covers_the_filtered_items_and_undo_takes_it_back_whole(
    store, admin, labelled
):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from pipelines.whp.review import confidence_steps, matching
    from tests.app.test_app import sign_in
    from tests.conftest import REPO

    project, label_set, _ = labelled
    create_user(store, admin, "rev", "reviewer-pass", Role.REVIEWER)
    items = load_review_items(label_set.path)
    # the step that splits the items nearest to half
    cut = min(
        confidence_steps(items), key=lambda c: abs(len(matching(items, highest=c)) - len(items) / 2)
    )
    low = matching(items, highest=cut)
    assert 0 < len(low) < len(items)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=60).run()
    sign_in(at, "rev", "reviewer-pass")
    at.switch_page("app_pages/generic_review.py").run()
    at.select_slider(key=f"bulk_confidence_{label_set.id}").set_range(0.0, cut).run()
    assert at.button(key="bulk_reject").label == f"Reject all {len(low)} (mask from the loss)"
    at.button(key="bulk_reject").click().run()
    decisions = whp.review_decisions(store, project, label_set.id)
    assert decisions == {i.id: {"decision": "reject", "replacement": ""} for i in low}
    assert at.metric[1].value == str(len(low))
    assert at.button(key="review_undo").label == (
        f"Undo my last decision ({len(low)} items)" if len(low) > 1 else "Undo my last decision"
    )
    at.button(key="review_undo").click().run()
    assert whp.review_decisions(store, project, label_set.id) == {}
    assert not at.exception


def test_matching_filters_by_term_in_either_text_and_by_confidence():
    from pipelines.whp.review import ReviewItem, matching

    def item(n, nxt, proposed, confidence):
        return ReviewItem(n, 0, [n], confidence, "", nxt, "", proposed, "")

    items = [item(1, " Alice", " the girl", 0.1), item(2, " the Queen", " a ruler", 0.4),
             item(3, " went", " walked", 0.9)]  # fmt: skip
    assert [i.id for i in matching(items, "alice")] == [1]
    assert [i.id for i in matching(items, "RULER")] == [2]
    assert [i.id for i in matching(items, "", 0.3, 1.0)] == [2, 3]
    assert [i.id for i in matching(items, "the", 0.0, 0.5)] == [1, 2]
    assert matching(items, "nowhere") == []


def test_confidence_steps_are_fine_where_the_items_are():
    from pipelines.whp.review import ReviewItem, confidence_steps

    items = [ReviewItem(n, 0, [n], c, "", "", "", "", "") for n, c in
             enumerate([0.00012345, 0.000126, 0.0031, 0.0031, 0.42])]  # fmt: skip
    assert confidence_steps(items) == [0.0, 0.00012, 0.00013, 0.0031, 0.42, 1.0]


def test_a_bulk_decision_needs_the_review_right_and_stores_nothing_without_it(
    store, admin, labelled
):
    project, label_set, _ = labelled
    annotator = create_user(store, admin, "ann", "annotator-pass", Role.ANNOTATOR)
    ids = [i.id for i in load_review_items(label_set.path)]
    with pytest.raises(PermissionDenied):
        whp.record_reviews(store, annotator, project, label_set.id, ids, {"decision": "accept"})
    with pytest.raises(UnlearnError, match="one of"):
        whp.record_reviews(store, admin, project, label_set.id, ids, {"decision": "maybe"})
    assert whp.review_decisions(store, project, label_set.id) == {}


def test_a_withdrawal_takes_back_only_its_authors_decision():
    from pipelines.whp.review import decisions_in_force

    accept, reject = {"decision": "accept"}, {"decision": "reject"}
    rows = [(1, 10, accept), (1, 20, reject), (2, 20, accept), (1, 20, {"decision": "withdraw"})]
    assert decisions_in_force(rows) == {1: (10, accept), 2: (20, accept)}
    assert decisions_in_force(rows + [(1, 10, {"decision": "withdraw"})]) == {2: (20, accept)}


def test_annotators_have_no_review_page(store, admin, labelled):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.app.test_app import sign_in
    from tests.conftest import REPO

    create_user(store, admin, "ann2", "annotator-pass", Role.ANNOTATOR)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=60).run()
    sign_in(at, "ann2", "annotator-pass")
    with pytest.raises(ValueError, match="Could not find"):
        at.switch_page("app_pages/generic_review.py")


def test_batched_continuations_match_one_prefix_at_a_time(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipelines.whp.review import continuations

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    models = gl.Models(model, model, tokenizer)
    text = (DEMO / "forget" / "book1.md").read_text()[:600].split()
    prefixes = [tokenizer(" ".join(text[:n]))["input_ids"] for n in (3, 11, 25, 7, 40)]
    batched = continuations(models, prefixes, tokens=5, batch=4)
    alone = [continuations(models, [p], tokens=5)[0] for p in prefixes]
    assert batched == alone
    assert all(batched) and len(set(batched)) > 1
    assert continuations(models, prefixes, tokens=0) == [""] * len(prefixes)


def test_continuations_report_progress_before_each_batch_and_at_the_end(tiny_model_dir):
    from types import SimpleNamespace

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipelines.whp.review import continuations

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    models = SimpleNamespace(baseline=model, tokenizer=tokenizer, device="cpu")
    prefixes = [tokenizer("Thumsath walked to Skoholm")["input_ids"]] * 70
    seen = []
    out = continuations(models, prefixes, 2, batch=32, progress=lambda d, t: seen.append((d, t)))
    assert len(out) == 70
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]  # never a silent wait at a full bar
