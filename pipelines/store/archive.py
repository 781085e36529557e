"""Archives of people's work: a whole-store backup and a one-project export, as zip files.

An archive holds `manifest.json` (format, kind, when, row counts), `tables/<table>.jsonl` (every
column of every row, datetimes in ISO 8601) and `files/` (the project folders: dictionary
versions, label sets, reports, models). A backup keeps every id and restores into an empty
store; a project export is imported beside other projects, with new ids and the references
between its rows rewritten. Both read the database in one snapshot transaction, which is safe
while others write (SQLite in WAL mode, PostgreSQL at REPEATABLE READ).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import DateTime, Table, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from pipelines.store import Store
from pipelines.store.access import audit, authorize
from pipelines.store.tables import (
    AnchorProposal,
    AuditEvent,
    Base,
    Chunk,
    Project,
    Submission,
    User,
)
from pipelines.types import Actor, Role, UnlearnError

FORMAT = 1
MAX_TABLE_BYTES = 8 * 2**30  # one table's rows, read into memory on import
MAX_LINE_BYTES = 64 * 2**20  # one row: a chunk's text is at most a few kilobytes
# Parents before children; the rows that point at others by id outside a foreign key (an
# item that is a chunk, an audit event's target) come after everything they may point at.
_SOFT_REFERENCES = ("submissions", "drafts", "audit_log")
TABLES = {t.name: t for t in Base.metadata.sorted_tables if t.name not in _SOFT_REFERENCES}
TABLES |= {name: Base.metadata.tables[name] for name in _SOFT_REFERENCES}
# Submissions and drafts whose item is a chunk (their item_id is a chunk id): annotators'
# spans and drafts, and the comments on a chunk (pipelines.anchors.comments.KIND).
CHUNK_ITEM_KINDS = ("anchors", "anchors.comment")
# Audit targets that are rows of an exported project.
AUDIT_TARGETS = {"project": "projects", "document": "documents", "artifact": "artifacts",
                 "job": "jobs", "anchors": "chunks"}  # fmt: skip
Progress = Callable[[int, int], None]  # (done, total) while an archive is written
# A password hash no password matches: an imported person signs in after an admin resets it.
LOCKED_PASSWORD = "!imported"


# ---------- rows <-> JSON ----------


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _typed(table: Table, row: dict) -> dict:
    out = dict(row)
    for column in table.columns:
        if isinstance(column.type, DateTime) and isinstance(out.get(column.name), str):
            out[column.name] = datetime.fromisoformat(out[column.name])
    return out


def _rows(connection, table: Table, where=None) -> list[dict]:
    query = select(table).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in connection.execute(query)]


def _snapshot(store: Store):
    """A connection in one read transaction: every table read sees the same moment."""
    connection = store.engine.connect()
    if store.engine.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    return connection


# ---------- writing and reading archives ----------


def _write(out: Path, kind: str, tables: dict[str, list[dict]], folders: dict[str, Path],
           progress: Progress | None = None, **about) -> dict:  # fmt: skip
    manifest = {"format": FORMAT, "kind": kind, "created_at": datetime.now().isoformat(),
                "tables": {name: len(rows) for name, rows in tables.items()}, **about}  # fmt: skip
    partial = out.with_name(out.name + ".partial")
    # people's work and, in a backup, password hashes: readable by the owner only
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(partial, 0o600)  # a leftover from a killed run keeps no wider mode
    try:
        _fill(partial, manifest, tables, folders, progress or (lambda done, total: None))
    except BaseException:  # a full disk or an interrupt: no half-written archive is left
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)  # a backup killed halfway leaves no archive that looks whole
    return manifest


def _fill(partial: Path, manifest: dict, tables: dict[str, list[dict]], folders: dict,
          progress: Progress) -> None:  # fmt: skip
    """Write the archive, reporting bytes done of the total (table lines, then files)."""
    lines = {name: "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
             for name, rows in tables.items()}  # fmt: skip
    files = [(prefix, folder, path) for prefix, folder in folders.items()
             for path in sorted(p for p in folder.rglob("*") if p.is_file())]  # fmt: skip
    total = sum(map(len, lines.values())) + sum(path.stat().st_size for *_, path in files)
    done = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, text in lines.items():
            archive.writestr(f"tables/{name}.jsonl", text)
            done += len(text)
            progress(done, total)
        for prefix, folder, path in files:
            archive.write(path, f"files/{prefix}/{path.relative_to(folder).as_posix()}")
            done += path.stat().st_size
            progress(done, total)


def read_archive(path: Path, kind: str) -> tuple[dict, dict[str, list[dict]]]:
    """The manifest and tables of an archive of this kind, or a clear refusal."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise UnlearnError(f"{path}: not a readable archive ({err}).") from None
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError):
            raise UnlearnError(f"{path}: no manifest; not an Unlearn Studio archive.") from None
        if manifest.get("format") != FORMAT or manifest.get("kind") != kind:
            raise UnlearnError(
                f"{path}: a {manifest.get('kind')!r} archive of format {manifest.get('format')}; "
                f"expected a {kind!r} archive of format {FORMAT}."
            )
        declared = manifest.get("tables")
        if not isinstance(declared, dict) or (kind == "store" and set(declared) != set(TABLES)):
            raise UnlearnError(f"{path}: its manifest does not list the store's tables.")
        tables = {name: _read_table(archive, path, name, declared[name]) for name in declared}
    return manifest, tables


def _read_table(archive: zipfile.ZipFile, path: Path, name: str, declared) -> list[dict]:
    """A table's rows checked against the schema and the manifest before any is written: known
    columns only, ids unique, as many rows as the manifest says, roles and names valid; read
    line by line, a line past MAX_LINE_BYTES refused."""
    if name not in TABLES:
        raise UnlearnError(f"{path}: unknown table {name!r}.")
    try:
        info = archive.getinfo(f"tables/{name}.jsonl")
    except KeyError:
        raise UnlearnError(f"{path}: the table {name} is missing.") from None
    if info.file_size > MAX_TABLE_BYTES:
        raise UnlearnError(f"{path}: the table {name} unpacks past {MAX_TABLE_BYTES} bytes.")
    columns, rows, ids = set(TABLES[name].columns.keys()), [], set()
    with archive.open(info) as lines:
        for number, line in enumerate(iter(lambda: lines.readline(MAX_LINE_BYTES + 1), b""), 1):
            where = f"{path}: {name} line {number}"
            if len(line) > MAX_LINE_BYTES:
                raise UnlearnError(f"{where} is longer than {MAX_LINE_BYTES} bytes.")
            if not line.strip():
                continue
            try:  # plain JSON: a backup may hold a NaN loss the store itself wrote
                row = json.loads(line)
            except ValueError as err:
                raise UnlearnError(f"{where}: not JSON ({err}).") from None
            if not isinstance(row, dict) or row.get("id") in ids:
                raise UnlearnError(f"{where}: not a row, or a row given twice.")
            if set(row) - columns:
                raise UnlearnError(
                    f"{where}: unknown columns {sorted(set(row) - columns)}; the archive was made "
                    "by a newer version of Unlearn Studio."
                )
            _check_values(name, row, where)
            ids.add(row.get("id"))
            rows.append(row)
    if declared != len(rows):
        raise UnlearnError(
            f"{path}: its manifest says {declared} {name} rows; it holds {len(rows)}."
        )
    return rows


def _check_values(name: str, row: dict, where: str) -> None:
    if name == "users" and row.get("role") not in set(Role):
        raise UnlearnError(f"{where}: {row.get('role')!r} is not a role.")
    if name == "projects" and not str(row.get("name") or "").strip():
        raise UnlearnError(f"{where}: a project needs a name.")


def _check_room(path: Path, archive: zipfile.ZipFile, target: Path) -> None:
    """Refuse an archive whose files would not fit where they unpack (a zip bomb among them),
    counted in inflated bytes before anything is written."""
    unpacked = sum(m.file_size for m in archive.infolist() if m.filename.startswith("files/"))
    target.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target).free
    if unpacked > free:
        raise UnlearnError(
            f"{path}: unpacks to {unpacked / 2**30:.1f} GiB, more than the "
            f"{free / 2**30:.1f} GiB free here."
        )


def _extract_files(path: Path, prefix: str, target: Path) -> None:
    """Unpack files/<prefix>/... under target, refusing names that would leave it."""
    with zipfile.ZipFile(path) as archive:
        _check_room(path, archive, target)
        for member in archive.infolist():
            name = PurePosixPath(member.filename)
            if name.parts[:2] != ("files", prefix) or member.is_dir():
                continue
            inside = PurePosixPath(*name.parts[2:])
            if ".." in inside.parts or inside.is_absolute():
                raise UnlearnError(f"{path}: the file name {member.filename!r} leaves its folder.")
            destination = target / inside
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)


# ---------- the whole store ----------


def backup(store: Store, actor: Actor, out: Path, progress: Progress | None = None) -> dict:
    """Every table and every project folder, ids kept; progress(done, total) as it writes (rows
    and bytes of files)."""
    authorize(store, actor, "store.backup")
    with _snapshot(store) as connection, connection.begin():
        tables = {name: _rows(connection, table) for name, table in TABLES.items()}
    return _write(out, "store", tables, {"projects": store.settings.projects_dir}, progress)


def _refuse_unless_empty(store: Store) -> None:
    """An empty store holds no project, no work and no one but its first admin: a restore into
    anything else would wipe people or their work."""
    with store.session() as s:
        projects = s.scalar(select(func.count()).select_from(Project))
        work = s.scalar(select(func.count()).select_from(Submission))
        people = s.scalar(select(func.count()).select_from(User))
    if projects or work:
        raise UnlearnError("Restore needs an empty store: this one already holds projects.")
    if people > 1:
        raise UnlearnError(
            f"Restore needs an empty store: this one already has {people} people; a restore "
            "would replace their accounts. Restore into a new UNLEARN_HOME instead."
        )


def _refuse_without_admin(path: Path, tables: dict[str, list[dict]]) -> None:
    if not any(u.get("role") == "admin" and u.get("active", True) for u in tables.get("users", [])):
        raise UnlearnError(f"{path}: the backup holds no active admin; nobody could sign in.")


_NEXT_ID = (
    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
    "COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
)


def restore(store: Store, actor: Actor, path: Path) -> dict:
    """Replace an empty store's contents with a backup (users, projects, audit log, files): an
    admin's act, written to the restored audit log. The store's first admin, the only account
    an empty store has, gives way to the backup's people."""
    authorize(store, actor, "store.restore")
    _refuse_unless_empty(store)
    manifest, tables = read_archive(path, "store")
    _refuse_without_admin(path, tables)
    target = store.settings.projects_dir
    staging = target.with_name(f".restore-{uuid.uuid4().hex}")
    try:
        _extract_files(path, "projects", staging)
        _insert_store(store, actor, path, manifest, tables)
    except SQLAlchemyError as err:  # never a traceback that quotes rows (password hashes)
        raise UnlearnError(
            f"{path}: its rows do not fit this store ({type(getattr(err, 'orig', err)).__name__});"
            " nothing was restored."
        ) from None
    else:
        target.mkdir(parents=True, exist_ok=True)
        for folder in staging.iterdir() if staging.exists() else ():
            folder.rename(target / folder.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # a failed restore leaves no files behind
    return manifest


def _insert_store(store: Store, actor: Actor, path: Path, manifest: dict, tables) -> None:
    """Every table of a backup in one transaction, ids kept."""
    with store.session() as s:
        for table in reversed(list(TABLES.values())):
            s.execute(delete(table))
        for name, table in TABLES.items():
            rows = [_typed(table, _settled(name, r)) for r in tables.get(name, [])]
            if rows:
                s.execute(insert(table), rows)
        if store.engine.dialect.name == "postgresql":
            for name in TABLES:  # the next id after the restored ones
                s.execute(text(_NEXT_ID.format(table=name)))
        # the restorer's account is gone: the event names them, not a restored id
        audit(s, replace(actor, user_id=None), "store.restore", "store", None, file=path.name,
              made=manifest.get("created_at"))  # fmt: skip


def _settled(name: str, row: dict) -> dict:
    """A job queued or running where the archive was made comes in failed (resumable): nobody
    here runs it, and its pid means nothing on this machine."""
    if name == "jobs" and row.get("state") in ("queued", "running"):
        why = "Archived while it was queued or running; resume it to run it here."
        return row | {"state": "failed", "pid": None, "cancel_requested": False, "error": why}
    return row


# ---------- one project ----------


def _project_rows(connection, project_id: int) -> dict[str, list[dict]]:
    owned = {t: _rows(connection, TABLES[t], TABLES[t].c.project_id == project_id)
             for t in ("documents", "artifacts", "submissions", "drafts", "jobs")}  # fmt: skip
    documents = [d["id"] for d in owned["documents"]]
    chunks = (
        _rows(connection, Chunk.__table__, Chunk.document_id.in_(documents)) if documents else []
    )
    proposals = _rows(connection, AnchorProposal.__table__, AnchorProposal.project_id == project_id)
    tables = {"projects": _rows(connection, Project.__table__, Project.id == project_id), **owned,
              "chunks": chunks, "anchor_proposals": proposals}  # fmt: skip
    tables["audit_log"] = _project_audit(connection, tables)
    users = {r[c] for rows in tables.values() for r in rows for c in ("created_by", "user_id")
             if r.get(c) is not None}  # fmt: skip
    people = _rows(connection, User.__table__, User.id.in_(users)) if users else []
    tables["users"] = [{**u, "password_hash": LOCKED_PASSWORD} for u in people]
    return {name: tables[name] for name in TABLES if name in tables}


def _project_audit(connection, tables: dict[str, list[dict]]) -> list[dict]:
    ids = {name: {r["id"] for r in tables[name]} for name in set(AUDIT_TARGETS.values())}
    submissions = {r["id"] for r in tables["submissions"]}
    events = []
    for event in _rows(connection, AuditEvent.__table__):
        target = AUDIT_TARGETS.get(event["target_type"])
        mine = target is not None and event["target_id"] in ids[target]
        if mine or (event["detail"] or {}).get("submission_id") in submissions:
            events.append(event)
    return events


def export_project(
    store: Store, actor: Actor, project_id: int, out: Path, progress: Progress | None = None
) -> dict:
    """One project's rows, the people and audit events that belong to it, and its folder."""
    authorize(store, actor, "project.export")
    with _snapshot(store) as connection, connection.begin():
        tables = _project_rows(connection, project_id)
    if not tables["projects"]:
        raise UnlearnError(f"No project with id {project_id}.")
    name = tables["projects"][0]["name"]
    folder = store.settings.projects_dir / str(project_id)
    return _write(out, "project", tables, {"project": folder}, progress, project=name)


class _IdMap(dict):
    """old id -> new id for each table."""

    def of(self, table: str, old):
        return None if old is None else self[table][old]


def _user_ids(session, actor: Actor, people: Iterable[dict]) -> dict[int, int]:
    """Archive people matched by username; a missing one is added inactive and locked."""
    out = {}
    for person in people:
        found = session.scalar(
            select(User).where(func.lower(User.username) == person["username"].lower())
        )
        if found is None:
            found = User(username=person["username"], role=person["role"], active=False,
                         password_hash=LOCKED_PASSWORD)  # fmt: skip
            session.add(found)
            session.flush()
            audit(session, actor, "user.create", "user", found.id, imported=True,
                  username=found.username)  # fmt: skip
        out[person["id"]] = found.id
    return out


def _remapped(name: str, row: dict, ids: _IdMap, source: str = "") -> dict:
    table = TABLES[name]
    new = {k: v for k, v in row.items() if k != "id"}
    for column in table.columns:
        for fk in column.foreign_keys:
            new[column.name] = ids.of(fk.column.table.name, row[column.name])
    if name in ("submissions", "drafts") and row["item_kind"] in CHUNK_ITEM_KINDS:
        new["item_id"] = ids.of("chunks", row["item_id"])
    if name == "audit_log":
        target = AUDIT_TARGETS.get(row["target_type"])
        if target:
            new["target_id"] = ids[target].get(row["target_id"])
        detail = dict(row["detail"] or {})
        if "submission_id" in detail:
            detail["submission_id"] = ids["submissions"].get(detail["submission_id"])
        # an event that happened elsewhere (or that an archive claims did) says so: it cannot
        # pass for something done on this server
        new["detail"] = detail | {"imported_from": source}
    return _typed(table, _settled(name, new))


def import_project(store: Store, actor: Actor, path: Path, name: str | None = None) -> int:
    """A project export added to this store under its name (or `name`); returns its new id."""
    authorize(store, actor, "project.import")
    manifest, tables = read_archive(path, "project")
    if len(tables.get("projects", [])) != 1:
        raise UnlearnError(f"{path}: holds no project.")
    (project,) = tables["projects"]
    project["name"] = (name or project["name"]).strip()
    finish_imports(store)
    staging = store.settings.projects_dir / f".import-{uuid.uuid4().hex}"
    try:
        _extract_files(path, "project", staging)  # a bad file refuses the import before any row
        new_project = _insert_project(store, actor, tables, project, path, manifest, staging.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(store.settings.projects_dir / str(new_project))
    return new_project


STALE_IMPORT_S = 3600  # an import's unpacked files with no committed rows after this are dead


def finish_imports(store: Store) -> list[str]:
    """Leftovers of imports killed midway: files whose rows committed (the audit event names
    the staging folder) are moved to their project's folder; files whose rows never came,
    left for an hour, are removed. Returns what it did, a line each."""
    done = []
    staged = {p.name: p for p in store.settings.projects_dir.glob(".import-*")}
    if not staged:
        return done
    with store.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "project.import"))
        committed = {(e.detail or {}).get("staging"): e.target_id for e in events}
    for name, folder in staged.items():
        target = store.settings.projects_dir / str(committed.get(name))
        if name in committed and not target.exists():
            folder.rename(target)
            done.append(f"moved the files of imported project {committed[name]} into place")
        elif name not in committed and time.time() - folder.stat().st_mtime > STALE_IMPORT_S:
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"removed {name}, the files of an import that never committed")
    return done


def _insert_project(
    store: Store, actor: Actor, tables, project: dict, path: Path, manifest, staging: str
) -> int:
    """Every row of a project archive under new ids, in one transaction; the project's id."""
    with store.session() as s:
        if s.scalar(select(Project.id).where(Project.name == project["name"])):
            raise UnlearnError(
                f"A project named {project['name']!r} already exists; import it under another "
                "name (--name)."
            )
        ids = _IdMap({n: {} for n in TABLES})
        ids["users"] = _user_ids(s, actor, tables.get("users", []))
        for table_name in TABLES:
            if table_name == "users":
                continue
            for row in tables.get(table_name, []):
                new_id = s.execute(
                    insert(TABLES[table_name]).returning(TABLES[table_name].c.id),
                    [_remapped(table_name, row, ids, path.name)],
                ).scalar_one()
                ids[table_name][row["id"]] = new_id
        new_project = ids["projects"][project["id"]]
        audit(s, actor, "project.import", "project", new_project, source=path.name,
              exported_at=manifest["created_at"], staging=staging)  # fmt: skip
    return new_project
