"""CLI: projects, ingestion with refusals, users, demo data; every write attributed to a user."""

from __future__ import annotations

from sqlalchemy import select

from pipelines.cli.main import main
from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.tables import AuditEvent
from pipelines.store.users import authenticate
from tests.files import PNG_BYTES, full_database_error


def test_project_create_ingest_and_list(tmp_path, capsys):
    doc = tmp_path / "notes.txt"
    doc.write_text("The Order of Drensis met at Skoholm.\n\nA second paragraph.")
    assert main(["project", "create", "--name", "Memo", "--model", "smollm2-135m"]) == 0
    assert main(["ingest", "--project", "Memo", "--role", "forget", str(doc)]) == 0
    assert main(["ingest", "--project", "Memo", "--role", "forget", str(doc)]) == 0
    assert main(["project", "list"]) == 0
    out = capsys.readouterr().out
    assert "added   notes.txt: document 1, 1 chunks" in out
    assert "skipped notes.txt" in out
    assert "Memo\tsmollm2-135m\tforget=1\tretain=0" in out


def test_refused_file_sets_the_exit_code_and_explains(tmp_path, capsys):
    main(["project", "create", "--name", "P"])
    junk = tmp_path / "junk.txt"
    junk.write_bytes(PNG_BYTES)
    assert main(["ingest", "--project", "P", "--role", "retain", str(junk)]) == 1
    assert "junk.txt: looks like a binary file" in capsys.readouterr().err


def test_unknown_project_is_a_clear_error(capsys):
    assert main(["ingest", "--project", "Nope", "--role", "forget", __file__]) == 2
    assert "No project 'Nope'" in capsys.readouterr().err


def test_users_add_and_headless_writes_are_audited_as_the_configured_user(monkeypatch, capsys):
    assert (
        main(
            [
                "users",
                "add",
                "--username",
                "rita",
                "--role",
                "researcher",
                "--password",
                "rita-password",
            ]
        )
        == 0
    )
    monkeypatch.setenv("UNLEARN_USER", "rita")
    assert main(["project", "create", "--name", "Hers"]) == 0
    store = open_store(Settings.from_env())
    assert authenticate(store, "rita", "rita-password").role == "researcher"
    with store.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "project.create"))
    assert event.username == "rita"
    monkeypatch.setenv("UNLEARN_USER", "rita")
    assert main(["users", "add", "--username", "x", "--role", "admin", "--password", "x" * 9]) == 2
    assert "may not user manage" in capsys.readouterr().err


def test_demo_data_is_reproducible_from_its_seed(tmp_path):
    from tests.conftest import DEMO

    assert main(["demo-data", "--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    assert written == committed
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (DEMO / rel).read_bytes(), rel


def every_command(parser=None) -> list:
    """The function behind every subcommand of `unlearn`, however deep."""
    import argparse

    from pipelines.cli.main import build_parser

    parser = parser or build_parser()
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                func = sub.get_default("func")
                found += [func] if func else []
                found += every_command(sub)
    return found


def test_every_command_declares_the_permission_it_needs():
    from pipelines.cli import permissions
    from pipelines.store.access import PERMISSIONS

    commands = every_command()
    assert len(commands) >= 40
    for func in commands:
        needed = permissions.permission_for(func)  # raises for a command nobody declared
        assert needed == permissions.READ or needed in PERMISSIONS


def test_an_annotator_cli_identity_is_refused_writes_and_each_write_is_audited(monkeypatch, capsys):
    for name, role in (("ann", "annotator"), ("rita", "researcher")):
        args = ["users", "add", "--username", name, "--role", role, "--password", "p" * 10]
        assert main(args) == 0
    monkeypatch.setenv("UNLEARN_USER", "rita")
    assert main(["project", "create", "--name", "Hers"]) == 0
    monkeypatch.setenv("UNLEARN_USER", "ann")
    for argv in (
        ["eval", "--project", "Hers", "--out", "report"],
        ["labels", "export", "--project", "Hers"],
        ["anchors", "publish", "--project", "Hers"],
        ["restore", "nowhere.zip"],
        ["worker"],
    ):
        assert main(argv) == 2, argv
        assert "ann (annotator) may not" in capsys.readouterr().err
    assert main(["project", "list"]) == 0  # reading is allowed
    store = open_store(Settings.from_env())
    with store.session() as s:
        denied = select(AuditEvent).where(AuditEvent.action == "permission.denied")
        refused = s.scalars(denied).all()
        written = s.scalars(select(AuditEvent).where(AuditEvent.action == "cli.project_create"))
        (created,) = written.all()
    assert {e.username for e in refused} == {"ann"} and len(refused) == 5
    assert created.username == "rita" and created.detail["options"]["name"] == "Hers"


def test_a_full_disk_or_a_write_race_is_a_message_not_a_traceback(monkeypatch, capsys):
    import errno

    from sqlalchemy.exc import IntegrityError

    from pipelines.cli import main as cli_main

    def full(store):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/unlearn.db")

    monkeypatch.setattr(cli_main, "list_projects", full)
    assert main(["project", "list"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full (/data/unlearn.db)" in err and "Traceback" not in err

    def raced(store):
        raise IntegrityError("INSERT INTO users ... 'argon2id$...'", {}, Exception("UNIQUE"))

    monkeypatch.setattr(cli_main, "list_projects", raced)
    assert main(["project", "list"]) == 2
    err = capsys.readouterr().err
    assert "at the same moment" in err and "argon2" not in err


def test_a_full_database_is_a_message_and_a_failed_backup_leaves_no_partial_file(
    tmp_path, monkeypatch, capsys
):
    import errno

    from pipelines.cli import main as cli_main
    from pipelines.store import archive, disk_full

    error = full_database_error(tmp_path)
    assert disk_full(error) and disk_full(error.orig)
    assert not disk_full(OSError(errno.EACCES, "denied")) and not disk_full(ValueError("x"))

    def full(store):
        raise error

    monkeypatch.setattr(cli_main, "list_projects", full)
    assert main(["project", "list"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full;" in err and "Traceback" not in err

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive, "_fill", no_space)
    out = tmp_path / "backup.zip"
    assert main(["backup", "--out", str(out)]) == 2
    assert "the disk is full" in capsys.readouterr().err
    assert not list(tmp_path.glob("backup.zip*"))  # neither the archive nor its .partial
