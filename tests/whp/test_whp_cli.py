"""The WHP steps from the CLI on a project whose base model is the tiny test model."""

from __future__ import annotations

import json

from pipelines.cli.main import main
from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.projects import get_project, list_artifacts
from pipelines.types import ArtifactKind
from pipelines.whp import labels as generic_labels
from tests.conftest import DEMO

DICTIONARY = DEMO / "reference_dictionary.json"


def test_reinforce_then_generate_and_inspect_labels(tiny_model_dir, tmp_path, capsys):
    book = tmp_path / "book.md"
    book.write_text((DEMO / "forget" / "book1.md").read_text()[:2500])
    assert main(["project", "create", "--name", "T", "--model", str(tiny_model_dir)]) == 0
    assert main(["ingest", "--project", "T", "--role", "forget", str(book)]) == 0
    assert (
        main(
            ["reinforce", "--project", "T", "--epochs", "1", "--block-tokens", "64", "--lr", "1e-3"]
        )
        == 0
    )
    common = ["--project", "T", "--dictionary", str(DICTIONARY), "--block-tokens", "64"]
    assert main(["labels", "generate", *common, "--name", "run1", "--compare-logits", "2"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1].split(": ", 1)[1])
    assert summary["blocks"] >= 5 and 0 < summary["changed"] <= summary["labelled"]

    store = open_store(Settings.from_env())
    project = get_project(store, "T")
    (reinforced,) = list_artifacts(store, project.id, ArtifactKind.REINFORCED)
    (label_set,) = list_artifacts(store, project.id, ArtifactKind.LABEL_SET)
    assert (reinforced.path / "config.json").exists()
    assert label_set.meta["summary"] == summary and label_set.meta["config"]["alpha"] == 15.0
    compared = (label_set.path / "compare_block_2.jsonl").read_text().splitlines()
    assert any("reinforced" in json.loads(line) for line in compared)
    block = generic_labels.load_block(label_set.path, 0)
    assert block.labels.shape == block.input_ids.shape

    assert main(["labels", "export", "--project", "T"]) == 0
    assert '"items": ' in capsys.readouterr().out
    assert (label_set.path / "export.npz").exists()

    assert main(["labels", "inspect", *common, "--block", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["pos"] == 0 and any("generic" in r for r in rows)
    assert any(r["label"] == "(masked)" for r in rows) or all("reinforced" in r for r in rows)


def test_labels_without_a_reinforced_model_explain_what_to_do(tiny_model_dir, tmp_path, capsys):
    book = tmp_path / "b.txt"
    book.write_text("Skoholm is far.")
    main(["project", "create", "--name", "U", "--model", str(tiny_model_dir)])
    main(["ingest", "--project", "U", "--role", "forget", str(book)])
    assert main(["labels", "generate", "--project", "U", "--dictionary", str(DICTIONARY)]) == 2
    assert "run reinforce first" in capsys.readouterr().err


def test_a_malformed_dictionary_is_refused(tmp_path, capsys):
    bad = tmp_path / "d.json"
    bad.write_text('{"Skoholm": 3}')
    main(["project", "create", "--name", "V"])
    assert main(["labels", "generate", "--project", "V", "--dictionary", str(bad)]) == 2
    assert "expected term → translation" in capsys.readouterr().err
