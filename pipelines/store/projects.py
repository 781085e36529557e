"""Projects and their versioned config, on-disk artefacts, and per-person submissions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from pipelines.config import ProjectConfig
from pipelines.store import Store, row_or_missing
from pipelines.store.access import audit, authorize
from pipelines.store.tables import Artifact, Document, Project, Submission, User, utcnow
from pipelines.types import Actor, NotFound, StaleEdit, UnlearnError


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    target_description: str
    base_model: str
    config: ProjectConfig
    version: int
    n_forget: int = 0
    n_retain: int = 0


def _info(project: Project, counts: dict[str, int] | None = None) -> ProjectInfo:
    counts = counts or {}
    return ProjectInfo(
        id=project.id,
        name=project.name,
        target_description=project.target_description,
        base_model=project.base_model,
        config=ProjectConfig.from_dict(project.config),
        version=project.version,
        n_forget=counts.get("forget", 0),
        n_retain=counts.get("retain", 0),
    )


def create_project(
    store: Store,
    actor: Actor,
    name: str,
    base_model: str,
    target_description: str = "",
    check_model: Callable[[str], None] | None = None,
) -> ProjectInfo:
    """A new project; check_model (models.check_source) refuses a model that could not load."""
    authorize(store, actor, "project.create")
    name = name.strip()
    if not name:
        raise UnlearnError("A project needs a name.")
    if check_model is not None:
        check_model(base_model)
    config = ProjectConfig(base_model=base_model)
    with store.session() as s:
        if s.scalar(select(Project).where(Project.name == name)):
            raise UnlearnError(f"A project named {name!r} already exists.")
        project = Project(
            name=name,
            target_description=target_description,
            base_model=base_model,
            config=config.to_dict(),
            version=1,
            created_by=actor.user_id,
        )
        s.add(project)
        s.flush()
        audit(s, actor, "project.create", "project", project.id, name=name, base_model=base_model)
        return _info(project)


def _document_counts(session, project_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Document.role, func.count(Document.id))
        .where(Document.project_id == project_id, Document.complete)
        .group_by(Document.role)
    )
    return dict(rows.all())


def list_projects(store: Store) -> list[ProjectInfo]:
    with store.session() as s:
        projects = s.scalars(select(Project).order_by(Project.name)).all()
        return [_info(p, _document_counts(s, p.id)) for p in projects]


def get_project(store: Store, name_or_id: str | int) -> ProjectInfo:
    with store.session() as s:
        column = Project.id if isinstance(name_or_id, int) else Project.name
        project = s.scalar(select(Project).where(column == name_or_id))
        if project is None:
            raise NotFound(f"No project {name_or_id!r}.")
        return _info(project, _document_counts(s, project.id))


def update_project(
    store: Store,
    actor: Actor,
    project_id: int,
    expected_version: int,
    *,
    target_description: str | None = None,
    config: ProjectConfig | None = None,
) -> ProjectInfo:
    """Compare-and-set on the version: an edit made from a stale copy is refused, not merged."""
    authorize(store, actor, "project.edit")
    changes: dict = {"version": expected_version + 1, "updated_at": utcnow()}
    if target_description is not None:
        changes["target_description"] = target_description
    if config is not None:
        changes["config"] = config.to_dict()
        changes["base_model"] = config.base_model
    with store.session() as s:
        result = s.execute(
            update(Project)
            .where(Project.id == project_id, Project.version == expected_version)
            .values(**changes)
        )
        if result.rowcount == 0:
            raise StaleEdit(
                "This project was changed by someone else since you opened it "
                f"(you edited version {expected_version}). Reload and apply your edit again."
            )
        audit(s, actor, "project.update", "project", project_id, version=expected_version + 1)
    return get_project(store, project_id)


def register_artifact(
    store: Store,
    actor: Actor,
    project_id: int,
    kind: str,
    path: Path,
    *,
    action: str = "artifact.register",
    **meta,
) -> int:
    """Record a large on-disk artefact (model, label file) kept under the project's folder;
    `action` is the permission it needs (people's edits of a probe set need less). The same
    folder or file registered again (a job resumed after a kill that came after its register)
    keeps its one row, with the new meta."""
    authorize(store, actor, action)
    relative = Path(path).resolve().relative_to(store.project_dir(project_id).resolve())
    with store.session() as s:
        same = (Artifact.project_id == project_id, Artifact.kind == kind,
                Artifact.path == str(relative))  # fmt: skip
        artifact = s.scalars(select(Artifact).where(*same)).first()
        if artifact is None:
            artifact = Artifact(project_id=project_id, kind=kind, path=str(relative),
                                created_by=actor.user_id)  # fmt: skip
            s.add(artifact)
        artifact.meta = meta
        s.flush()
        audit(s, actor, "artifact.register", "artifact", artifact.id, kind=kind, path=str(relative))
        return artifact.id


def artifact_path(store: Store, artifact_id: int) -> Path:
    with store.session() as s:
        artifact = row_or_missing(s, Artifact, artifact_id, f"No artefact {artifact_id}.")
        return store.project_dir(artifact.project_id) / artifact.path


def submit(
    store: Store,
    actor: Actor,
    project_id: int,
    item_kind: str,
    item_id: int,
    payload: dict,
    action: str = "annotation.submit",
) -> int:
    """Store one person's decision as a new row; earlier rows, theirs or others', stay intact."""
    return submit_many(store, actor, project_id, item_kind, {item_id: payload}, action)[0]


def submit_many(
    store: Store,
    actor: Actor,
    project_id: int,
    item_kind: str,
    payloads: Mapping[int, dict],
    action: str = "annotation.submit",
) -> list[int]:
    """One person's decisions on many items, stored together or not at all (a bulk decision)."""
    authorize(store, actor, action)
    ids = []
    with store.session() as s:
        for item_id, payload in payloads.items():
            row = Submission(
                project_id=project_id,
                item_kind=item_kind,
                item_id=item_id,
                user_id=actor.user_id,
                payload=payload,
            )
            s.add(row)
            s.flush()
            audit(s, actor, "submission.create", item_kind, item_id, submission_id=row.id)
            ids.append(row.id)
    return ids


@dataclass(frozen=True)
class SubmissionInfo:
    item_id: int
    user_id: int
    payload: dict
    created_at: object


def submissions_of_kind(
    store: Store,
    project_id: int,
    item_kind: str,
    item_id: int | None = None,
    username: str | None = None,
) -> list[SubmissionInfo]:
    """Every submission on items of one kind (or on one item, or by one person), oldest first."""
    s_ = Submission
    query = select(s_.item_id, s_.user_id, s_.payload, s_.created_at).where(
        s_.project_id == project_id, s_.item_kind == item_kind
    )
    if item_id is not None:
        query = query.where(s_.item_id == item_id)
    if username is not None:
        query = query.join(User, User.id == s_.user_id).where(User.username == username)
    with store.session() as s:  # plain rows, not ORM objects: a big project has many
        return [SubmissionInfo(*row) for row in s.execute(query.order_by(s_.id))]


def latest_submissions(store: Store, project_id: int, item_kind: str, item_id: int) -> dict:
    """Each person's newest submission on an item, keyed by user id."""
    rows = submissions_of_kind(store, project_id, item_kind, item_id)
    return {row.user_id: row.payload for row in rows}


@dataclass(frozen=True)
class ArtifactInfo:
    id: int
    kind: str
    path: Path
    meta: dict
    created_at: object


def list_artifacts(store: Store, project_id: int, kind: str) -> list[ArtifactInfo]:
    """A project's artefacts of one kind, newest first."""
    with store.session() as s:
        rows = s.scalars(
            select(Artifact)
            .where(Artifact.project_id == project_id, Artifact.kind == kind)
            .order_by(Artifact.id.desc())
        ).all()
        folder = store.project_dir(project_id)
        return [ArtifactInfo(a.id, a.kind, folder / a.path, a.meta, a.created_at) for a in rows]
