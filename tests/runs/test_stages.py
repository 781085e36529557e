"""Stages as project runs: unlearn by each method from the CLI, defaults per model size, teach."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from pipelines.cli import main as cli
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.runs import stages
from pipelines.store import jobs as rows
from pipelines.types import ArtifactKind, DocRole
from pipelines.whp import project as whp
from tests.conftest import DEMO, make_labelled_project


@pytest.mark.parametrize("method", ["whp", "npo", "undial"])
def test_unlearn_from_the_cli_saves_a_plain_model_with_its_card(
    store, admin, tiny_model_dir, method
):
    project, label_set, _ = make_labelled_project(store, admin, tiny_model_dir, "U")
    retain = ingest.Upload("tales.md", (DEMO / "retain" / "village-tales.md").read_bytes()[:2000])
    ingest.run(IngestConfig(), [retain], store=store, actor=admin, project_id=project.id,
               role=DocRole.RETAIN)  # fmt: skip
    argv = ["unlearn", "--project", "U", "--method", method, "--lora", "--lora-rank", "4"]
    assert cli.main([*argv, "--epochs", "2", "--lr", "5e-3", "--block-tokens", "64"]) == 0
    (job,) = rows.list_jobs(store)
    assert job.state == rows.SUCCEEDED
    model_dir = job.outputs["model_dir"]
    unlearned = AutoModelForCausalLM.from_pretrained(model_dir)  # LoRA merged: plain transformers
    start = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    assert set(unlearned.state_dict()) == set(start)
    assert any(not torch.equal(v, start[k]) for k, v in unlearned.state_dict().items())
    card = open(f"{model_dir}/README.md").read()
    assert method in card and '"lora": true' in card
    assert ("dictionary" in card and "label set" in card) == (method == "whp")
    (artifact,) = whp.list_artifacts(store, project.id, ArtifactKind.UNLEARNED)
    assert artifact.meta["config"]["method"] == method
    # no --retain-weight given: the prefilled weight is kept, not replaced by a flag's default
    prefilled = stages.default_config(store, project, "unlearn", method).unlearn.retain_weight
    assert artifact.meta["config"]["retain_weight"] == prefilled == (method == "whp")


def test_defaults_follow_the_model_size(store, admin, tiny_model_dir):
    small = stages.suggested_training("unlearn", 135_000_000, "npo")
    assert not small.lora and small.lr == 1e-5
    # whp's rate measured on the real book: 1e-4 on SmolLM2-135M, 3e-5 on Gemma-3-270M
    assert stages.suggested_training("unlearn", 135_000_000).lr == 1e-4
    assert stages.suggested_training("unlearn", 270_000_000).lr == 3e-5
    medium = stages.suggested_training("reinforce", 1_500_000_000)
    assert (
        medium.lora and medium.gradient_checkpointing and medium.batch_size * medium.grad_accum == 8
    )
    large = stages.suggested_training("teach", 8_000_000_000)
    assert large.batch_size == 1 and large.grad_accum == 8
    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "D")
    labels = stages.default_config(store, project, "labels")
    assert labels.dictionary == ""  # only the Demo project has a dictionary prefilled
    config = stages.default_config(store, project, "unlearn", "grad_diff")
    assert config.unlearn.method == "grad_diff" and config.unlearn.train.lr == 1e-5


def test_teach_makes_the_taught_model_every_later_stage_s_start(store, admin, tiny_model_dir):
    project, _, _ = make_labelled_project(store, admin, tiny_model_dir, "T")
    assert cli.main(["teach", "--project", "T", "--epochs", "1", "--block-tokens", "64"]) == 0
    (taught,) = whp.list_artifacts(store, project.id, ArtifactKind.TAUGHT)
    assert whp.starting_model(store, project) == str(taught.path)
    record = json.loads((taught.path / "unlearn_training.json").read_text())
    assert record["stage"] == "teach" and record["starting model"] == str(tiny_model_dir)


def test_model_card_gets_an_evaluation_table(tmp_path):
    from pipelines.training import model_card

    (tmp_path / "README.md").write_text(model_card.render("Unlearned model", {"method": "whp"}, {}))
    model_card.add_results(tmp_path, {"prob_familiarity": 0.02, "retain_ppl": 5.1})
    card = (tmp_path / "README.md").read_text()
    assert "Not evaluated yet" not in card and "| prob_familiarity | 0.02 |" in card
    assert card.count("## Evaluation") == 1 and "- **method**: whp" in card
