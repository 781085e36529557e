"""The only code that talks to the database: engine, sessions, and the domain read/write modules."""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipelines.config import Settings
from pipelines.store.migrations import upgrade_to_head
from pipelines.types import NotFound

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets the UI read while a job writes; the busy timeout waits out short write locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _TakeTurnsToWrite:
    """Writers to one SQLite file take turns on an OS file lock, held from a transaction's first
    write to its end. SQLite's own busy handler polls with growing sleeps (up to 100 ms), so
    under many writers one of them can wait seconds while others keep winning; a writer blocked
    on the lock is woken as soon as it is free. Reads never take it (WAL lets them run beside a
    writer). A thread that already holds a turn (a write session opened inside another) does
    not wait for itself: its inner write meets SQLite's busy timeout as before."""

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + ".writelock")
        self._thread = threading.local()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_statement)
        event.listen(engine, "commit", self._release)
        event.listen(engine, "rollback", self._release)
        event.listen(engine.pool, "reset", lambda _dbapi, record, *_: self._free(record.info))

    def _before_statement(self, connection, _cursor, statement: str, *_args) -> None:
        if "write_turn" not in connection.info and statement.lstrip().upper().startswith(_WRITES):
            connection.info["write_turn"] = self._wait_for_turn()

    def _wait_for_turn(self) -> int | None:
        if getattr(self._thread, "turns", 0):
            return None
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._thread.turns = 1
        return fd

    def _release(self, connection) -> None:
        self._free(connection.info)

    def _free(self, info: dict) -> None:
        fd = info.pop("write_turn", None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._thread.turns = 0


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (it holds password hashes); SQLite
    gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _keep_private(folder: Path) -> None:
    """A data folder others can read (made by hand, or by an older version) is closed to them,
    with a word on stderr: it holds the database, its password hashes and people's work."""
    mode = folder.stat().st_mode & 0o777
    if mode & 0o077 and folder.owner() == _me():
        folder.chmod(mode & 0o700)
        print(f"note: {folder} was readable by others ({oct(mode)}); it is now 0700.",
              file=sys.stderr)  # fmt: skip


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        if str(database) != ":memory:":
            _private_file(database)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        if str(database) != ":memory:":
            _TakeTurnsToWrite(database).attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """A migrated database plus the data directory that holds large artefacts."""

    def __init__(self, settings: Settings):
        self.settings = settings
        if not settings.home.exists():  # artefacts live here, whatever the DB; nobody else's
            settings.home.mkdir(mode=0o700, parents=True)
        _keep_private(settings.home)
        self.engine = make_engine(settings.database_url)
        upgrade_to_head(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back whole on any error."""
        with self._sessions.begin() as session:
            yield session

    def project_dir(self, project_id: int) -> Path:
        path = self.settings.projects_dir / str(project_id)
        path.mkdir(parents=True, exist_ok=True)
        return path


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def disk_full(err: BaseException) -> bool:
    """Whether a write failed for want of space: the file system's own error, SQLite's
    SQLITE_FULL, or PostgreSQL's disk_full, as the driver raised it or wrapped by SQLAlchemy."""
    cause = getattr(err, "orig", None) or err
    if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
        return True
    if isinstance(cause, sqlite3.Error):
        return getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return getattr(cause, "sqlstate", None) == POSTGRES_DISK_FULL


def row_or_missing(session: Session, table, row_id: int, missing: str):
    """The row with this id, or NotFound with the given message."""
    row = session.get(table, row_id)
    if row is None:
        raise NotFound(missing)
    return row


def open_store(settings: Settings | None = None) -> Store:
    return Store(settings or Settings.from_env())
