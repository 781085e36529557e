"""`unlearn export|import|backup|restore|audit`: people's work out of and into a store; its log."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from pipelines.bootstrap import cli_session
from pipelines.store import archive, audit_log
from pipelines.store.projects import get_project
from pipelines.types import UnlearnError


@contextmanager
def _bar(desc: str):
    """A progress bar fed archive.Progress's (done, total) calls."""
    with tqdm(desc=desc, unit="B", unit_scale=True) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield advance


def _counts(manifest: dict) -> str:
    return ", ".join(f"{n} {name}" for name, n in manifest["tables"].items() if n)


def cmd_export(args) -> int:
    store, actor = cli_session()
    project = get_project(store, args.project)
    out = Path(args.out or f"{project.name}.unlearn.zip")
    with _bar("export") as progress:
        manifest = archive.export_project(store, actor, project.id, out, progress)
    print(f"Exported project {project.name!r} to {out}: {_counts(manifest)}.")
    return 0


def cmd_import(args) -> int:
    store, actor = cli_session()
    project_id = archive.import_project(store, actor, Path(args.file), args.name)
    print(f"Imported {args.file} as project {get_project(store, project_id).name!r}.")
    return 0


def cmd_backup(args) -> int:
    store, actor = cli_session()
    with _bar("backup") as progress:
        manifest = archive.backup(store, actor, Path(args.out), progress)
    print(f"Backed up the whole store to {args.out}: {_counts(manifest)}.")
    return 0


def cmd_restore(args) -> int:
    store, actor = cli_session()  # the empty store's first admin; the backup's people come back
    manifest = archive.restore(store, actor, Path(args.file))
    print(f"Restored {args.file} (made {manifest['created_at']}): {_counts(manifest)}.")
    return 0


def _since(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UnlearnError(f"--since {value!r}: give a date such as 2026-12-01.") from None


def cmd_audit(args) -> int:
    store, actor = cli_session()
    since = _since(args.since) if args.since else None
    found = audit_log.events(
        store, actor, username=args.user, action=args.action, since=since, limit=args.limit
    )
    for e in found:
        if args.json:
            print(json.dumps({**e.__dict__, "at": e.at.isoformat()}, ensure_ascii=False))
        else:
            print(
                f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.username}\t{e.action}\t{e.target}\t{e.detail_text}"
            )
    return 0


def add_parsers(sub) -> None:
    export = sub.add_parser("export", help="one project and everything people did in it, as a zip")
    export.add_argument("--project", required=True)
    export.add_argument("--out", help="archive path (default: <project>.unlearn.zip)")
    export.set_defaults(func=cmd_export)
    imported = sub.add_parser("import", help="add a project exported by `unlearn export`")
    imported.add_argument("file")
    imported.add_argument("--name", help="the project's name here (default: its exported name)")
    imported.set_defaults(func=cmd_import)
    backup = sub.add_parser("backup", help="the whole store (admins): every table and file")
    backup.add_argument("--out", required=True)
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="fill an empty store from `unlearn backup`")
    restore.add_argument("file")
    restore.set_defaults(func=cmd_restore)
    audit = sub.add_parser("audit", help="read the audit log (admins), newest first")
    audit.add_argument("--user", default="", help="only this person's actions")
    audit.add_argument("--action", default="", help='an action or its prefix, e.g. "job."')
    audit.add_argument("--since", default="", help="from this date or time (ISO 8601)")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=cmd_audit)
