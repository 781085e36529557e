"""The pipeline checklist follows a project from proposals to a published dictionary."""

from __future__ import annotations

from pipelines.anchors import dictionary
from pipelines.runs.checklist import checklist, next_step
from pipelines.store.anchors import forget_chunks, replace_proposals
from tests.anchors.test_anchors import make_project


def test_the_checklist_says_what_is_done_and_what_comes_next(store, admin):
    from pipelines.store.projects import create_project

    empty = create_project(store, admin, "Empty", "smollm2-135m")
    upcoming = next_step(checklist(store, empty))
    assert (upcoming.name, upcoming.detail) == ("upload documents", "no forget documents yet")
    project = make_project(store, admin)
    assert next_step(checklist(store, project)).name == "propose anchors"
    chunk = next(c for c in forget_chunks(store, project.id) if "Thumsath" in c.text)
    a = chunk.text.index("Thumsath")
    row = {"chunk_id": chunk.id, "start": a, "end": a + 8, "text": "Thumsath",
           "label": "PERSON", "score": 0.9, "translation": "Helen"}  # fmt: skip
    replace_proposals(store, admin, project.id, "ner", [row])
    upcoming = next_step(checklist(store, project))
    assert (upcoming.name, upcoming.who) == ("annotate", "annotators")
    dictionary.accept_all(store, admin, project)
    assert next_step(checklist(store, project)).name == "publish the dictionary"
    dictionary.publish(store, admin, project)
    steps = checklist(store, project)
    assert [s.done for s in steps[:5]] == [True, True, True, True, True]
    assert next_step(steps).name == "reinforce" and "v1, 1 terms" in steps[4].detail
