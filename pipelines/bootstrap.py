"""First start: migrate the store, make sure an admin exists, seed the Demo project once."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import DEFAULT_MODEL, REPO_ROOT, IngestConfig, Settings
from pipelines.corpus import ingest
from pipelines.store import Store, archive, open_store
from pipelines.store.projects import (
    ProjectInfo,
    create_project,
    list_artifacts,
    list_projects,
    register_artifact,
)
from pipelines.store.users import ensure_admin
from pipelines.types import Actor, ArtifactKind, DocRole

DEMO_DIR = REPO_ROOT / "data" / "demo"
DEMO_PROJECT = "Demo"
# The demo's given inputs, registered as artefacts so that no stage needs to know the demo by name.
DEMO_ARTIFACTS = {
    ArtifactKind.PROMPT_SET: "prompts.jsonl",
    ArtifactKind.QA_SET: "qa.jsonl",
    ArtifactKind.REFERENCE_DICTIONARY: "reference_dictionary.json",
    ArtifactKind.JUDGE_TERMS: "names.json",
}
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
    for repaired in archive.finish_imports(store):  # an import killed midway, finished now
        print(f"note: {repaired}", file=sys.stderr)
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
    existing = [p for p in list_projects(store) if p.name == DEMO_PROJECT]
    if existing:
        register_demo_inputs(store, actor, existing[0], demo_dir)  # Demo projects seeded before
        return False
    project = create_project(store, actor, DEMO_PROJECT, DEFAULT_MODEL, DEMO_TARGET)
    register_demo_inputs(store, actor, project, demo_dir)
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


def register_demo_inputs(
    store: Store, actor: Actor, project: ProjectInfo, demo_dir: Path = DEMO_DIR
) -> None:
    """Copy the demo's prompts, reference dictionary and names into the project as artefacts."""
    folder = store.project_dir(project.id) / "given"
    for kind, name in DEMO_ARTIFACTS.items():
        if list_artifacts(store, project.id, kind):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_dir / name, folder / name)
        register_artifact(store, actor, project.id, kind, folder / name, source="demo")
