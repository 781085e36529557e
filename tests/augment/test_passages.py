"""Passages the model writes about the target: written as a job, reviewed, and only the approved
ones added to the forget set."""

from __future__ import annotations

import json

import pytest

from pipelines.anchors import dictionary
from pipelines.augment import passages as gen
from pipelines.augment import project as augment
from pipelines.cli import main as cli
from pipelines.store import jobs as rows
from pipelines.store.documents import list_documents
from pipelines.types import DocRole, UnlearnError
from pipelines.whp import project as whp
from tests.conftest import DEMO, make_labelled_project

SMALL = ["--subjects", "2", "--formats", "summary,qa", "--per-prompt", "2", "--max-new-tokens",
         "24", "--min-words", "3"]  # fmt: skip


def test_requests_cover_each_subject_and_format_and_cut_at_a_sentence():
    config = gen.PassageConfig(formats="summary,encyclopedia", per_prompt=2)
    chosen = gen.subjects(
        ["Anna met Anna and Anna. Greyport.", "Greyport"], ["Greyport", "Anna", "Zed"], 5
    )
    assert chosen == ["Anna", "Greyport"]  # the most used first; a term never used is left out
    made = gen.requests("The Tales", chosen, config)
    assert len(made) == 8 and len({r.key for r in made}) == 8
    assert all(r.subject in r.prompt and "The Tales" in r.instruction for r in made)
    summary = made[0]
    text = gen.passage_text(summary, " went to the sea. She came back late. She was")
    assert text == "Anna went to the sea. She came back late."
    with pytest.raises(UnlearnError, match="formats"):
        gen.PassageConfig(formats="poem")


def test_decisions_set_status_and_edited_text():
    made = [gen.Passage(str(i), "Anna", "summary", f"text {i}", "model") for i in range(3)]
    decided = gen.with_decisions(made, {0: {"decision": "approve", "text": ""},
                                        1: {"decision": "reject", "text": ""},
                                        2: {"decision": "edit", "text": "better"}})  # fmt: skip
    assert [p.status for p in decided] == ["approved", "rejected", "approved"]
    assert decided[2].text == "better" and decided[0].text == "text 0"


def test_written_reviewed_and_only_approved_passages_join_the_forget_set(
    store, admin, tiny_model_dir, capsys
):
    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "G")
    assert cli.main(["passages", "generate", "--project", "G", *SMALL]) != 0
    assert "Publish a dictionary first" in capsys.readouterr().err
    reference = (DEMO / "reference_dictionary.json").read_bytes()
    dictionary.import_dictionary(store, admin, project, reference, "reference.json")
    assert cli.main(["passages", "generate", "--project", "G", *SMALL]) == 0
    (job,) = [j for j in rows.list_jobs(store) if j.stage == "passages"]
    assert job.state == rows.SUCCEEDED and job.outputs["passages"] >= 3
    set_id = job.outputs["artifact"]
    items = augment.in_force(store, project, set_id)
    assert {i.passage.format for i in items} <= {"summary", "qa"}
    assert all(i.passage.status == "pending" and i.reviewer is None for i in items)

    assert cli.main(["passages", "review", "--project", "G", "--item", "1", "--decision",
                     "approve"]) == 0  # fmt: skip
    assert cli.main(["passages", "review", "--project", "G", "--item", "2", "--decision",
                     "reject"]) == 0  # fmt: skip
    edited = "Anna keeps the lantern lit for every boat that comes home late."
    assert cli.main(["passages", "review", "--project", "G", "--item", "3", "--decision",
                     "edit", "--text", edited]) == 0  # fmt: skip
    items = augment.in_force(store, project, set_id)
    assert [i.passage.status for i in items[:3]] == ["approved", "rejected", "approved"]
    assert items[0].reviewer == "admin" and items[0].reviewed_at is not None

    before = len(whp.forget_texts(store, project))
    assert augment.add_approved(store, admin, project, set_id) == 2
    assert augment.add_approved(store, admin, project, set_id) == 0  # nothing twice
    forget = whp.forget_texts(store, project)
    assert len(forget) == before + 1
    added = forget[-1]
    assert edited in added and " ".join(items[0].passage.text.split()) in " ".join(added.split())
    assert " ".join(items[1].passage.text.split()) not in " ".join(added.split())
    names = [d.source_name for d in list_documents(store, project.id, DocRole.FORGET)]
    assert any(n.startswith(augment.DOCUMENT_PREFIX) for n in names)
    # the generated document is not what later passages are written from
    assert len(augment.book_texts(store, project)) == before
    assert json.loads(json.dumps(job.outputs))["kind"] == "passage_set"
