"""`unlearn demo` end to end on a tiny model: every stage runs, times itself, and reports."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from pipelines.demo import run as demo_run
from pipelines.store.projects import get_project, list_artifacts, list_projects
from pipelines.training.loop import TrainConfig
from pipelines.types import ArtifactKind
from pipelines.whp import project as whp
from pipelines.whp.labels import LabelConfig

KEYS = {
    "familiarity_before", "familiarity_after", "prob_familiarity_before", "prob_familiarity_after",
    "retain_ppl_before", "retain_ppl_after", "wall_seconds", "stages",
}  # fmt: skip


@pytest.mark.slow
def test_the_demo_runs_every_stage_and_writes_the_report(store, admin, tiny_model_dir, tmp_path):
    quick = TrainConfig(epochs=1, lr=1e-3)
    config = demo_run.DemoConfig(
        model=str(tiny_model_dir), books=1, teach=quick, reinforce=quick, unlearn=quick,
        block_tokens=128, labels=LabelConfig(block_tokens=128, mode="soft"), max_new_tokens=4,
    )  # fmt: skip
    seen, blocks = [], []
    summary = demo_run.run(
        config, tmp_path, store, admin,
        on_stage=lambda s, *_: seen.append(s), on_blocks=lambda *done: blocks.append(done),
    )  # fmt: skip
    assert seen == list(demo_run.STAGES) and list(summary["stages"]) == seen
    assert blocks and blocks[-1][0] == blocks[-1][1] > 0  # the labels bar reaches its total
    data = json.loads((tmp_path / "report.json").read_text())
    assert KEYS <= set(data) and (tmp_path / "report.html").exists()
    assert data["dictionary_terms"] > 10 and data["prompts"] > 5
    # MUSE against the untaught base (the demo's exact retrained reference), and quantisation
    assert data["meta"]["privleak_reference"]["model"] == "base"
    assert data["meta"]["privleak_non_members"] == "holdout documents"  # untold tales
    # the facts of the one book taught, as its prompts; and the general knowledge to keep
    assert data["meta"]["qa_pairs"] == {"forget": data["prompts"], "retain": 12}
    for model in data["models"]:
        measured = [model[k] for k in ("verbmem", "knowmem_forget", "knowmem_retain", "privleak")]
        assert all(value is not None for value in measured), model["name"]
        assert model["quant8_prob"] is not None and model["quant4_prob"] is not None
    assert set(summary["measured"]) == {"taught", "unlearned"}
    (project,) = [p for p in list_projects(store) if p.name.startswith("Demo run")]
    project = get_project(store, project.id)
    taught = AutoModelForCausalLM.from_pretrained(whp.starting_model(store, project))
    unlearned = AutoModelForCausalLM.from_pretrained(
        list_artifacts(store, project.id, ArtifactKind.UNLEARNED)[0].path
    )
    changed = [
        not torch.equal(a, b)
        for a, b in zip(taught.parameters(), unlearned.parameters(), strict=True)
    ]
    assert all(changed)  # a full fine-tune moved every tensor
    assert 0 < summary["prob_familiarity_before"] < 1 and summary["retain_ppl_after"] > 1


def test_fast_is_one_book_taught_harder_and_unlearned_in_smaller_steps():
    full, fast = demo_run.DemoConfig(), demo_run.DemoConfig.fast()
    assert (full.books, fast.books) == (3, 1)
    assert fast.teach.lr == pytest.approx(3 * full.teach.lr)
    assert fast.teach.epochs == full.teach.epochs
    assert fast.unlearn.grad_accum * 2 == full.unlearn.grad_accum == 4
    assert fast.unlearn.batch_size == full.unlearn.batch_size == 1
    assert (fast.unlearn.lr, fast.unlearn.epochs) == (2 * full.unlearn.lr, full.unlearn.epochs + 1)
    assert full.muse and not fast.muse  # --fast leaves MUSE to the full demo
    # every training stage and the labels run at the fastest native precision
    trains = (full.teach, full.reinforce, full.unlearn, fast.teach, fast.unlearn)
    assert {c.precision for c in trains} == {full.labels.precision} == {demo_run.PRECISION}
