"""Probe sets on a project: built from its forget text by its base model, edited by people,
used to pick the checkpoint while unlearning and in the report."""

from __future__ import annotations

import json

from pipelines.cli import main as cli
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.store import jobs as rows
from pipelines.store.projects import list_artifacts
from pipelines.types import ArtifactKind
from pipelines.whp import project as whp
from tests.conftest import make_labelled_project


def test_build_edit_and_unlearn_with_a_probe_set(store, admin, tiny_model_dir, tmp_path, capsys):
    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "P")
    # a random-weight model knows nothing: keep every candidate to have probes at all
    assert cli.main(["probes", "build", "--project", "P", "--min-probability", "0"]) == 0
    probes = eval_project.probe_set(store, project)
    book = [p for p in probes if p.group == "book"]
    forget = " ".join(" ".join(whp.forget_texts(store, project)).split())
    assert book and all(f"{p.prompt} {p.answer}" in forget for p in book)
    assert {p.split for p in book} == {"tuning", "report"}
    assert {p.group for p in probes} == {"book", "general", "fiction"}

    # a person rejects one probe and adds one: a new version, the old one kept
    out = tmp_path / "probes.jsonl"
    assert cli.main(["probes", "export", "--project", "P", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    lines[0]["status"] = "rejected"
    lines.append({"prompt": "The village by the river is called", "answer": "Skoholm",
                  "source": "person", "split": "tuning"})  # fmt: skip
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert cli.main(["probes", "import", "--project", "P", "--file", str(out)]) == 0
    assert len(list_artifacts(store, project.id, ArtifactKind.PROBE_SET)) == 2
    edited = eval_project.probe_set(store, project)
    assert edited[0].status == "rejected" and edited[-1].source == "person"
    assert (lines[0]["prompt"], lines[0]["answer"]) not in cloze.in_use(edited, "book")

    argv = ["unlearn", "--project", "P", "--epochs", "2", "--lr", "5e-3", "--block-tokens", "64"]
    assert cli.main(argv) == 0
    (job,) = rows.list_jobs(store)
    record = json.loads(open(f"{job.outputs['model_dir']}/unlearn_training.json").read())
    steps = [step for step, _ in record["probes"]]
    assert job.outputs["kept"]["step"] in steps[1:]
    assert job.outputs["probe_seconds"] > 0  # shown beside the stage's time
    assert {"book", "neighbours"} <= set(record["probes"][0][1])
    assert "checkpoint kept" in open(f"{job.outputs['model_dir']}/README.md").read()


def test_neighbour_probes_leave_out_those_that_name_the_target():
    every = eval_project.neighbour_probes([])
    without = eval_project.neighbour_probes(["Captain Ahab", "Moby Dick", "the Time"])
    assert {p.group for p in every} == {"general", "fiction"}
    assert len(without) == len(every) - 1  # the white whale's probe; "time" names nothing
    assert not any("Moby" in p.prompt for p in without)


def test_the_llm_question_probes_join_the_set_where_the_base_model_knows_them(
    store, admin, tiny_model_dir, monkeypatch
):
    from tests.conftest import ScriptedLLM

    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "Q")
    name = "the"  # in every sampled passage, so the grounding check keeps it
    reply = {"pairs": [{"question": "Which word comes most often in it?", "answer": name},
                       {"question": "Which town is never in the passage at all?",
                        "answer": "Nowhereville"}]}  # fmt: skip
    monkeypatch.setattr(eval_project, "llm_client", lambda store, what: ScriptedLLM([reply] * 3))
    keep_all = cloze.ClozeConfig(min_probability=0.0)
    _, probes = eval_project.build_probes(store, admin, project, keep_all, llm_passages=3)
    asked = [p for p in probes if p.source == "llm"]
    # grounded: the answer missing from its passage is refused; the other is kept and scored
    assert asked and {p.answer for p in asked} == {name}
    assert all(p.prompt.startswith("Question: ") and p.base_probability is not None for p in asked)
    strict = cloze.ClozeConfig(min_probability=1.0)  # no answer is certain to a random model
    assert cloze.qa_probes([("Who?", name)], strict, lambda pairs: [0.5] * len(pairs)) == []
