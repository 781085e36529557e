"""`unlearn anchors` and `unlearn labelstudio` from the command line, as scripts call them."""

from __future__ import annotations

import json

from pipelines.cli.main import main
from tests.conftest import DEMO


def make_demo_project(tmp_path) -> None:
    assert main(["project", "create", "--name", "Book", "--model", "smollm2-135m"]) == 0
    book = DEMO / "forget" / "book1.md"
    assert main(["ingest", "--project", "Book", "--role", "forget", str(book)]) == 0
    retain = sorted((DEMO / "retain").glob("*.md"))[0]
    assert main(["ingest", "--project", "Book", "--role", "retain", str(retain)]) == 0


def test_propose_accept_publish_export_import_round_trip(tmp_path, capsys):
    make_demo_project(tmp_path)
    assert main(["anchors", "propose", "--project", "Book", "--sources", "ner,stats"]) == 0
    assert main(["anchors", "accept-all", "--project", "Book"]) == 0
    assert main(["anchors", "publish", "--project", "Book"]) == 0
    out = tmp_path / "dictionary.json"
    assert main(["anchors", "export", "--project", "Book", "--out", str(out)]) == 0
    exported = json.loads(out.read_text())
    terms = exported["terms"] if isinstance(exported, dict) else exported
    assert len(terms) >= 5
    assert main(["anchors", "import", "--project", "Book", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "v1" in printed and "v2" in printed


def test_publish_with_nothing_accepted_says_so(tmp_path, capsys):
    make_demo_project(tmp_path)
    assert main(["anchors", "publish", "--project", "Book"]) != 0
    assert capsys.readouterr().err.strip()


def test_labelstudio_push_without_a_server_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("UNLEARN_LS_TOKEN", raising=False)
    make_demo_project(tmp_path)
    code = main(["labelstudio", "push", "--project", "Book", "--url", "http://127.0.0.1:9"])
    assert code != 0
    assert "Label Studio" in capsys.readouterr().err
