"""Chunks assigned to annotators with an overlap: each chunk to k people, even shares, little
movement when someone joins, and each annotator's queue holding only their share."""

from __future__ import annotations

import pytest

from pipelines import bootstrap
from pipelines.anchors import assignment, dictionary
from pipelines.anchors import queue as annotation_queue
from pipelines.store.anchors import forget_chunks
from pipelines.store.projects import get_project
from pipelines.store.users import actor_for, create_user, set_active
from pipelines.types import PermissionDenied, Role, UnlearnError


def test_each_chunk_goes_to_k_annotators_in_even_shares():
    people = ["ann1", "ann2", "ann3", "ann4"]
    split = assignment.shares(range(2000), people, 2)
    assert all(
        sum(c in split[name] for name in people) == 2 for c in range(2000)
    )  # two owners per chunk
    assert all(850 <= len(split[name]) <= 1150 for name in people)  # 1000 each, give or take
    assert assignment.owners(7, ["solo"], 3) == ["solo"]  # fewer people than k: all of them


def test_a_new_annotator_takes_a_share_without_reshuffling_the_rest():
    before = assignment.shares(range(3000), ["a", "b", "c"], 1)
    after = assignment.shares(range(3000), ["a", "b", "c", "d"], 1)
    moved = sum(len(before[n] - after[n]) for n in "abc")
    assert moved == len(after["d"])  # only what the newcomer took changed hands
    assert 600 <= moved <= 900  # about a quarter


def test_annotators_queues_hold_their_share_and_reviewers_see_everything(store, admin):
    bootstrap.seed_demo(store, admin)
    project = get_project(store, "Demo")
    for name in ("ann1", "ann2", "ann3"):
        create_user(store, admin, name, f"{name}-password", Role.ANNOTATOR)
    create_user(store, admin, "rev", "rev-password", Role.REVIEWER)
    chunks = [c.id for c in forget_chunks(store, project.id)]
    assert assignment.per_chunk(store, project) == 0
    every = {e.chunk_id for e in annotation_queue.queue_order(store, project, "ann1")}
    assert every == set(chunks)

    with pytest.raises(PermissionDenied):  # annotators may not set it; researchers do
        assignment.set_per_chunk(store, actor_for(store, "ann1"), project, 2)
    with pytest.raises(UnlearnError, match="0 .* to 20"):
        assignment.set_per_chunk(store, admin, project, 50)
    assignment.set_per_chunk(store, admin, project, 2)
    queues = {n: {e.chunk_id for e in annotation_queue.queue_order(store, project, n)}
              for n in ("ann1", "ann2", "ann3")}  # fmt: skip
    assert all(sum(c in q for q in queues.values()) == 2 for c in chunks)
    assert all(len(q) < len(chunks) for q in queues.values())
    rev = {e.chunk_id for e in annotation_queue.queue_order(store, project, "rev")}
    assert rev == set(chunks)
    rows = {r["annotator"]: r for r in dictionary.progress_by_annotator(store, project)}
    assert {n: rows[n]["chunks assigned"] for n in queues} == {n: len(q) for n, q in queues.items()}

    set_active(store, admin, "ann3", False)  # a deactivated annotator's share moves to the others
    left = {n: {e.chunk_id for e in annotation_queue.queue_order(store, project, n)}
            for n in ("ann1", "ann2")}  # fmt: skip
    assert left["ann1"] == left["ann2"] == set(chunks)
