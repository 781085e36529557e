"""First start: migrate the store, make sure an admin exists, seed the Demo project once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines import ingest
from pipelines.config import DEFAULT_MODEL, IngestConfig, Settings
from pipelines.store import Store, open_store
from pipelines.store.projects import create_project, list_projects
from pipelines.store.users import ensure_admin
from pipelines.types import Actor, DocRole

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_PROJECT = "Demo"
DEMO_TARGET = "The invented world of the demo books: its people, places, artefacts and customs."


@dataclass
class Started:
    store: Store
    admin: Actor
    generated_password: str | None


def start(settings: Settings | None = None) -> Started:
    store = open_store(settings)
    admin, generated = ensure_admin(store, os.environ.get("UNLEARN_ADMIN_PASSWORD"))
    if generated:
        _remember_password(store.settings.home, generated)
    return Started(store, admin, generated)


def cli_session() -> tuple[Store, Actor]:
    """The store and the local user the command line acts as (UNLEARN_USER, default admin)."""
    from pipelines.store.users import actor_for

    started = start()
    if started.generated_password:
        print(f"Created user 'admin' with password: {started.generated_password}")
    return started.store, actor_for(started.store, Settings.from_env().headless_user)


def _remember_password(home: Path, password: str) -> None:
    """Keep the generated admin password readable only by its owner, beside the database."""
    path = home / "admin-password.txt"
    path.write_text(password + "\n")
    path.chmod(0o600)


def _uploads(folder: Path) -> list[ingest.Upload]:
    return [ingest.Upload(p.name, p.read_bytes()) for p in sorted(folder.glob("*.md"))]


def seed_demo(store: Store, actor: Actor, demo_dir: Path = DEMO_DIR) -> bool:
    """Create the Demo project with its forget and retain documents; False if it already exists."""
    if any(p.name == DEMO_PROJECT for p in list_projects(store)):
        return False
    project = create_project(store, actor, DEMO_PROJECT, DEFAULT_MODEL, DEMO_TARGET)
    for role in DocRole:
        ingest.run(
            IngestConfig(),
            _uploads(demo_dir / role.value),
            store=store,
            actor=actor,
            project_id=project.id,
            role=role,
        )
    return True
