"""Store: migrations, SQLite tuning, role enforcement, audit, versioning, per-person submissions."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from pipelines.config import ProjectConfig, Settings
from pipelines.store import open_store
from pipelines.store.migrations import current_revision
from pipelines.store.projects import (
    artifact_path,
    create_project,
    get_project,
    latest_submissions,
    list_artifacts,
    register_artifact,
    submit,
    update_project,
)
from pipelines.store.tables import AuditEvent
from pipelines.types import PermissionDenied, StaleEdit, UnlearnError


def test_migrations_from_empty_create_every_table(store):
    tables = set(inspect(store.engine).get_table_names())
    expected = {
        "users",
        "projects",
        "documents",
        "chunks",
        "artifacts",
        "submissions",
        "audit_log",
        "jobs",
        "llm_calls",
        "anchor_proposals",
        "sign_in_sessions",
        "drafts",
    }
    assert expected <= tables
    assert current_revision(store.engine) == "0006"


def test_reopening_a_migrated_store_keeps_data(store, admin):
    create_project(store, admin, "Keep", "smollm2-135m")
    again = open_store(Settings.from_env())
    assert get_project(again, "Keep").base_model == "smollm2-135m"


def test_sqlite_runs_in_wal_mode_with_busy_timeout(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_annotator_cannot_create_a_project_even_without_the_ui(store, annotator):
    with pytest.raises(PermissionDenied, match="may not project create"):
        create_project(store, annotator, "Nope", "smollm2-135m")


def test_writes_are_audited_with_the_acting_user(store, researcher):
    project = create_project(store, researcher, "Audited", "smollm2-135m")
    with store.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "project.create"))
        assert (event.username, event.target_id) == ("rita", project.id)


def test_duplicate_project_names_are_refused(store, admin):
    create_project(store, admin, "Twice", "smollm2-135m")
    with pytest.raises(UnlearnError, match="already exists"):
        create_project(store, admin, "Twice", "smollm2-135m")


def test_stale_edit_is_refused_and_the_newer_edit_survives(store, admin, researcher):
    project = create_project(store, admin, "Shared", "smollm2-135m")
    update_project(store, admin, project.id, project.version, target_description="first")
    with pytest.raises(StaleEdit, match="changed by someone else"):
        update_project(store, researcher, project.id, project.version, target_description="second")
    current = get_project(store, project.id)
    assert (current.target_description, current.version) == ("first", 2)


def test_config_edit_changes_base_model(store, admin):
    project = create_project(store, admin, "Cfg", "smollm2-135m")
    updated = update_project(
        store, admin, project.id, 1, config=ProjectConfig(base_model="gemma3-270m")
    )
    assert updated.base_model == updated.config.base_model == "gemma3-270m"


def test_submissions_are_kept_per_person(store, admin, annotator):
    project = create_project(store, admin, "Votes", "smollm2-135m")
    submit(store, annotator, project.id, "chunk", 7, {"term": "Skoholm", "keep": True})
    submit(store, admin, project.id, "chunk", 7, {"term": "Skoholm", "keep": False})
    submit(store, annotator, project.id, "chunk", 7, {"term": "Skoholm", "keep": True, "v": 2})
    latest = latest_submissions(store, project.id, "chunk", 7)
    assert latest[admin.user_id] == {"term": "Skoholm", "keep": False}
    assert latest[annotator.user_id]["v"] == 2


def test_artifacts_live_under_the_project_folder(store, researcher):
    project = create_project(store, researcher, "Art", "smollm2-135m")
    path = store.project_dir(project.id) / "models" / "reinforced"
    path.mkdir(parents=True)
    artifact_id = register_artifact(store, researcher, project.id, "model", path, epochs=2)
    assert artifact_path(store, artifact_id) == path


def test_a_resumed_job_registering_its_folder_again_keeps_one_artifact_with_the_new_meta(
    store, researcher
):
    project = create_project(store, researcher, "Again", "smollm2-135m")
    path = store.project_dir(project.id) / "evaluations" / "eval-job3"
    path.mkdir(parents=True)
    first = register_artifact(store, researcher, project.id, "evaluation", path, models=["a"])
    again = register_artifact(store, researcher, project.id, "evaluation", path, models=["a", "b"])
    assert again == first
    (only,) = list_artifacts(store, project.id, "evaluation")
    assert only.id == first and only.meta == {"models": ["a", "b"]}
    other = register_artifact(store, researcher, project.id, "model", path)  # another kind
    assert other != first
