"""Export/import of a project and a whole-store backup/restore give back an identical store."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from pipelines import bootstrap
from pipelines.anchors import comments, dictionary
from pipelines.config import Settings
from pipelines.store import archive, audit_log, open_store
from pipelines.store.anchors import forget_chunks, replace_proposals
from pipelines.store.drafts import load_draft, save_draft
from pipelines.store.projects import get_project, list_projects
from pipelines.store.users import authenticate, create_user
from pipelines.types import AuthError, PermissionDenied, Role, UnlearnError
from tests.conftest import ADMIN_PASSWORD


def people_worked_on_the_demo(store, admin):
    """The Demo project with proposals, two annotators' submissions, a settlement, a draft and
    a published dictionary version: every kind of work the archive must carry."""
    bootstrap.seed_demo(store, admin)
    project = get_project(store, "Demo")
    ann = create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
    bob = create_user(store, admin, "bob", "bob-password", Role.ANNOTATOR)
    chunks = forget_chunks(store, project.id)[:2]
    first = chunks[0]
    name = first.text.split()[0]
    span = {"start": 0, "end": len(name), "label": "PERSON", "translation": "Wren"}
    proposed = [{**span, "chunk_id": c.id, "text": name, "score": 0.9} for c in chunks]
    replace_proposals(store, admin, project.id, "ner", proposed)
    for person in (ann, bob):
        dictionary.submit_chunk(store, person, project, first.id, first.text, [span])
    dictionary.settle(store, admin, project, name, "accept", "Wren", "PERSON")
    save_draft(store, ann, project.id, "anchors", chunks[1].id, {"spans": [span]})
    comments.add(store, bob, project, chunks[1].id, "Is this a name or a place?", flag=True)
    dictionary.publish(store, admin, project)
    return project


def exported_demo(tmp_path, store, admin):
    """The demo worked on by people, exported to tmp_path/demo.zip (returned)."""
    project = people_worked_on_the_demo(store, admin)
    path = tmp_path / "demo.zip"
    steps = []
    archive.export_project(store, admin, project.id, path, lambda *step: steps.append(step))
    assert steps and steps[-1][0] == steps[-1][1] > 0  # ends at its total
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)
    return path


def archive_tables(path):
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        tables = {n: [json.loads(x) for x in z.read(f"tables/{n}.jsonl").splitlines()]
                  for n in manifest["tables"]}  # fmt: skip
        files = {n.split("/", 2)[2]: z.read(n) for n in z.namelist() if n.startswith("files/")}
    return tables, files


def without_ids(tables):
    """Each id replaced by its row's rank in its table, each reference by the rank of the row
    it points to, and a person by their username: two stores with the same content in the same
    order compare equal, whoever else each store holds."""
    rank = {n: {r["id"]: i for i, r in enumerate(rows)} for n, rows in tables.items()}
    rank["users"] = {u["id"]: u["username"] for u in tables["users"]}
    refs = {table.name: {c.name: next(iter(c.foreign_keys)).column.table.name
                         for c in table.columns if c.foreign_keys}
            for table in archive.TABLES.values()}  # fmt: skip
    out = {}
    for name, rows in tables.items():
        out[name] = []
        for row in rows:
            row = {**row, "id": rank[name][row["id"]]}
            for column, target in refs[name].items():
                if row[column] is not None:
                    row[column] = rank[target][row[column]]
            if row.get("item_kind") in archive.CHUNK_ITEM_KINDS:
                row["item_id"] = rank["chunks"][row["item_id"]]
            if name == "audit_log" and row["target_type"] in archive.AUDIT_TARGETS:
                row["target_id"] = rank[archive.AUDIT_TARGETS[row["target_type"]]][row["target_id"]]
            if name == "audit_log" and "submission_id" in row["detail"]:
                submission = rank["submissions"][row["detail"]["submission_id"]]
                row["detail"] = {**row["detail"], "submission_id": submission}
            out[name].append(row)
    out["users"] = sorted(u["username"] for u in tables["users"])
    return out


def test_a_project_export_imported_into_another_store_exports_identically(
    tmp_path, monkeypatch, store, admin
):
    project = people_worked_on_the_demo(store, admin)
    first = tmp_path / "demo.zip"
    manifest = archive.export_project(store, admin, project.id, first)
    assert manifest["tables"]["submissions"] == 4 and manifest["tables"]["drafts"] == 1

    monkeypatch.setenv("UNLEARN_HOME", str(tmp_path / "elsewhere"))
    other = bootstrap.start(Settings.from_env())
    create_user(other.store, other.admin, "bob", "another-password", Role.REVIEWER)
    new_id = archive.import_project(other.store, other.admin, first)
    again = tmp_path / "again.zip"
    archive.export_project(other.store, other.admin, new_id, again)

    (before, files_before), (after, files_after) = archive_tables(first), archive_tables(again)
    came = [e for e in after["audit_log"] if e["action"] != "project.import"]
    assert {e["detail"].pop("imported_from") for e in came} == {"demo.zip"}  # marked as such
    after["audit_log"] = came
    assert without_ids(after) == without_ids(before)
    assert files_after == files_before and any(n.startswith("dictionaries/") for n in files_after)
    imported = get_project(other.store, new_id)
    assert dictionary.versions(other.store, imported)[0].n_terms == 1
    # bob already existed here and keeps his password and role; ann1 comes in locked
    assert authenticate(other.store, "bob", "another-password").role == "reviewer"
    with pytest.raises(AuthError):
        authenticate(other.store, "ann1", "ann1-password")
    with pytest.raises(UnlearnError, match="already exists"):
        archive.import_project(other.store, other.admin, first)


def without_the_restore(path):
    """The archive's tables and files, less the restore's own audit event."""
    tables, files = archive_tables(path)
    tables["audit_log"] = [e for e in tables["audit_log"] if e["action"] != "store.restore"]
    return tables, files


def fresh_store(tmp_path, monkeypatch, name: str):
    """A new UNLEARN_HOME with its first admin, as `unlearn restore` opens it."""
    monkeypatch.setenv("UNLEARN_HOME", str(tmp_path / name))
    started = bootstrap.start(Settings.from_env())
    return started.store, started.admin


def test_a_backup_restored_into_an_empty_store_backs_up_identically(
    tmp_path, monkeypatch, store, admin
):
    people_worked_on_the_demo(store, admin)
    first = tmp_path / "all.zip"
    archive.backup(store, admin, first)
    fresh, first_admin = fresh_store(tmp_path, monkeypatch, "restored")
    archive.restore(fresh, first_admin, first)
    assert authenticate(fresh, "ann1", "ann1-password").role == "annotator"
    again = tmp_path / "again.zip"
    archive.backup(fresh, admin, again)  # the same admin row, restored with its id
    assert without_the_restore(again) == archive_tables(first)
    (event,) = audit_log.events(fresh, admin, action="store.restore")
    assert event.username == first_admin.username and event.detail["file"] == "all.zip"
    with pytest.raises(UnlearnError, match="empty store"):
        archive.restore(fresh, admin, first)


def test_restore_is_an_admins_and_never_replaces_people(tmp_path, monkeypatch, store, admin):
    people_worked_on_the_demo(store, admin)
    whole = tmp_path / "all.zip"
    archive.backup(store, admin, whole)
    target, first_admin = fresh_store(tmp_path, monkeypatch, "target")
    create_user(target, first_admin, "kim", "kim-password", Role.ANNOTATOR)
    kim = authenticate(target, "kim", "kim-password")
    with pytest.raises(PermissionDenied):  # an annotator may not restore at all
        archive.restore(target, kim, whole)
    with pytest.raises(UnlearnError, match="already has 2 people"):
        archive.restore(target, first_admin, whole)
    # nothing changed: both accounts sign in as before, no project came in
    assert authenticate(target, "kim", "kim-password").role == "annotator"
    assert authenticate(target, first_admin.username, ADMIN_PASSWORD).role == "admin"
    assert not list_projects(target)


def backup_with_users(tmp_path, store, admin, change):
    """A backup of the demo worked on (tmp_path/all.zip) and a copy whose users table is
    `change`d (tmp_path/changed.zip), which it returns."""
    people_worked_on_the_demo(store, admin)
    whole, changed = tmp_path / "all.zip", tmp_path / "changed.zip"
    archive.backup(store, admin, whole)
    with zipfile.ZipFile(whole) as z, zipfile.ZipFile(changed, "w") as out:
        for name in z.namelist():
            data = z.read(name)
            out.writestr(name, change(data) if name == "tables/users.jsonl" else data)
    return changed


def test_a_backup_without_an_admin_is_refused_before_anything_is_written(
    tmp_path, monkeypatch, store, admin
):
    def no_admin(data: bytes) -> bytes:
        rows = [json.loads(line) for line in data.splitlines()]
        return "\n".join(json.dumps({**r, "role": "annotator"}) for r in rows).encode()

    headless = backup_with_users(tmp_path, store, admin, no_admin)
    target, first_admin = fresh_store(tmp_path, monkeypatch, "target")
    with pytest.raises(UnlearnError, match="no active admin"):
        archive.restore(target, first_admin, headless)
    assert not list_projects(target) and not any(target.settings.projects_dir.glob("*"))


def test_drafts_and_the_audit_log_survive_the_round_trip(tmp_path, store, admin):
    project = people_worked_on_the_demo(store, admin)
    path = tmp_path / "demo.zip"
    archive.export_project(store, admin, project.id, path)
    new_id = archive.import_project(store, admin, path, name="Demo copy")
    copy = get_project(store, new_id)
    ann = authenticate(store, "ann1", "ann1-password")
    chunk = forget_chunks(store, copy.id)[1]
    assert load_draft(store, ann, "anchors", chunk.id)["spans"][0]["translation"] == "Wren"
    logged = audit_log.events(store, admin, action="project.import")
    assert logged[0].target_id == new_id and logged[0].detail["source"] == "demo.zip"
    # the events that came with the project say where from: none passes for one done here
    came = [e for e in audit_log.events(store, admin, limit=1000) if e.detail.get("imported_from")]
    assert came and {e.detail["imported_from"] for e in came} == {"demo.zip"}
    assert "imported_from" not in logged[0].detail  # the import itself happened here


def test_refusals_leave_nothing_behind(tmp_path, store, admin, annotator):
    with pytest.raises(PermissionDenied):
        archive.backup(store, annotator, tmp_path / "x.zip")
    with pytest.raises(PermissionDenied):
        audit_log.events(store, annotator)
    assert not (tmp_path / "x.zip").exists()
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    with pytest.raises(UnlearnError, match="not a readable archive"):
        archive.import_project(store, admin, tmp_path / "junk.zip")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("manifest.json", json.dumps({"format": 1, "kind": "project",
                                                "created_at": "now", "tables": {}}))  # fmt: skip
    with pytest.raises(UnlearnError):
        archive.import_project(store, admin, evil)


def test_an_archive_whose_files_leave_their_folder_or_overflow_the_disk_is_refused_whole(
    tmp_path, store, admin, monkeypatch
):
    path = exported_demo(tmp_path, store, admin)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("files/project/../../escaped.txt", b"outside")
    with pytest.raises(UnlearnError, match="leaves its folder"):
        archive.import_project(store, admin, path, name="Escaped")
    assert not (store.settings.home / "escaped.txt").exists()
    assert [p.name for p in list_projects(store)] == ["Demo"]
    assert not list(store.settings.projects_dir.glob(".import-*"))

    archive.export_project(store, admin, get_project(store, "Demo").id, path)
    monkeypatch.setattr(archive.shutil, "disk_usage", lambda _: type("U", (), {"free": 10})())
    with pytest.raises(UnlearnError, match="GiB free here"):
        archive.import_project(store, admin, path, name="Too big")
    assert [p.name for p in list_projects(store)] == ["Demo"]


def test_archives_and_the_data_folder_are_readable_by_their_owner_only(
    tmp_path, monkeypatch, store, admin, capsys
):
    import os

    project = people_worked_on_the_demo(store, admin)
    whole, one = tmp_path / "all.zip", tmp_path / "demo.zip"
    archive.backup(store, admin, whole)
    archive.export_project(store, admin, project.id, one)
    assert (whole.stat().st_mode & 0o777) == 0o600 and (one.stat().st_mode & 0o777) == 0o600
    home = tmp_path / "opened-by-hand"
    home.mkdir()
    os.chmod(home, 0o755)
    monkeypatch.setenv("UNLEARN_HOME", str(home))
    open_store(Settings.from_env())
    assert (home.stat().st_mode & 0o777) == 0o700
    assert "readable by others" in capsys.readouterr().err


def test_a_job_exported_while_running_is_imported_failed_and_never_adopted(tmp_path, store, admin):
    from pipelines.store import jobs as rows

    project = people_worked_on_the_demo(store, admin)
    job_id = rows.enqueue_job(store, admin, project.id, "reinforce", {})
    rows.claim_job(store, job_id)
    rows.record_progress(store, job_id, pid=os.getpid())
    path = tmp_path / "demo.zip"
    archive.export_project(store, admin, project.id, path)
    copy = archive.import_project(store, admin, path, name="Demo copy")
    (imported,) = rows.list_jobs(store, project_id=copy)
    assert imported.state == rows.FAILED and imported.pid is None
    assert "resume it" in imported.error


def test_a_restore_that_fails_midway_leaves_the_store_and_its_folder_as_they_were(
    tmp_path, monkeypatch, store, admin
):
    def twice(data: bytes) -> bytes:  # two people of one username: the insert fails
        rows = [json.loads(line) for line in data.splitlines()]
        rows[1]["username"] = rows[0]["username"]
        return "".join(json.dumps(r) + "\n" for r in rows).encode()

    broken = backup_with_users(tmp_path, store, admin, twice)
    whole = tmp_path / "all.zip"
    target, first_admin = fresh_store(tmp_path, monkeypatch, "target")
    with pytest.raises(UnlearnError, match="nothing was restored") as refused:
        archive.restore(target, first_admin, broken)
    assert "argon2" not in str(refused.value)
    assert not list_projects(target) and not any(target.settings.projects_dir.glob("*"))
    assert not list(target.settings.home.glob(".restore-*"))
    archive.restore(target, first_admin, whole)  # the store is as empty as it was: this works
    assert authenticate(target, "ann1", "ann1-password").role == "annotator"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda rows: rows + [rows[0]], "a row given twice"),
        (lambda rows: [{**rows[0], "shoe_size": 43}, *rows[1:]], "made by a newer version"),
        (lambda rows: [{**rows[0], "role": "root"}, *rows[1:]], "'root' is not a role"),
        (lambda rows: rows[1:], "its manifest says 3 users rows; it holds 2"),
        # the other tables still point at the old id: a dangling reference
        (lambda rows: [{**rows[0], "id": 9_999}, *rows[1:]], "do not fit this store"),
    ],
)
def test_a_hostile_archive_is_refused_before_any_row_is_written(
    tmp_path, monkeypatch, store, admin, change, refusal
):
    def changed(data: bytes) -> bytes:
        rows = change([json.loads(line) for line in data.splitlines()])
        return "".join(json.dumps(r) + "\n" for r in rows).encode()

    hostile = backup_with_users(tmp_path, store, admin, changed)
    target, first_admin = fresh_store(tmp_path, monkeypatch, "target")
    with pytest.raises(UnlearnError, match=refusal):
        archive.restore(target, first_admin, hostile)
    assert authenticate(target, first_admin.username, ADMIN_PASSWORD).role == "admin"
    assert not list_projects(target)


def test_a_line_past_the_limit_is_refused_without_reading_it_whole(
    tmp_path, monkeypatch, store, admin
):
    monkeypatch.setattr(archive, "MAX_LINE_BYTES", 1000)
    hostile = backup_with_users(tmp_path, store, admin, lambda data: b"x" * 5000 + b"\n" + data)
    target, first_admin = fresh_store(tmp_path, monkeypatch, "target")
    with pytest.raises(UnlearnError, match="longer than 1000 bytes"):
        archive.restore(target, first_admin, hostile)


def test_an_import_killed_between_its_rows_and_its_files_is_finished_at_the_next_start(
    tmp_path, monkeypatch, store, admin
):
    from pathlib import Path

    path = exported_demo(tmp_path, store, admin)
    real_rename = Path.rename

    def killed(self, target):
        if self.name.startswith(".import-"):
            raise KeyboardInterrupt("killed after the commit, before the folder moved")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", killed)
    with pytest.raises(KeyboardInterrupt):
        archive.import_project(store, admin, path, name="Demo copy")
    monkeypatch.setattr(Path, "rename", real_rename)
    copy = get_project(store, "Demo copy")
    folder = store.settings.projects_dir / str(copy.id)
    assert not folder.exists()  # the half-state the kill left
    started = bootstrap.start(store.settings)  # the next command or app start finishes it
    assert folder.exists() and any(folder.rglob("*.json"))
    assert not list(store.settings.projects_dir.glob(".import-*"))
    assert started.store is not None
