"""A throwaway PostgreSQL server on a Unix socket, and a scratch store on it or on SQLite."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def available() -> bool:
    return bool(shutil.which("initdb") and shutil.which("pg_ctl"))


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; run it as `nobody` then.
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


def _run(*command: str) -> None:
    subprocess.run(_as_postgres_user(list(command)), check=True, capture_output=True)


@contextlib.contextmanager
def temporary_server(port: int) -> Iterator[str]:
    """initdb + pg_ctl start in a fresh folder; yields a SQLAlchemy URL, stops and removes it."""
    # Directly under /tmp: pytest's own temp folders are closed to the `nobody` user.
    root = Path(tempfile.mkdtemp(prefix="unlearn-pg-"))
    root.chmod(0o777)
    data, log = root / "data", root / "log"
    _run("initdb", "-D", str(data), "-A", "trust", "-U", "unlearn")
    options = f"-k {root} -p {port} -c listen_addresses='' -c max_connections=200"
    _run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        yield f"postgresql+psycopg://unlearn@/postgres?host={root}&port={port}"
    finally:
        _run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def scratch_store(database: str, port: int) -> Iterator[None]:
    """UNLEARN_HOME in a temporary folder and the database chosen ("sqlite" or "postgresql",
    a temporary server) for the code run inside; everything is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="unlearn-bench-") as home:
        os.environ["UNLEARN_HOME"] = str(Path(home) / "home")
        os.environ.setdefault("UNLEARN_ADMIN_PASSWORD", "bench-admin-password")
        if database == "postgresql":
            with temporary_server(port) as url:
                os.environ["UNLEARN_DATABASE_URL"] = url
                yield
        else:
            os.environ.pop("UNLEARN_DATABASE_URL", None)
            yield
