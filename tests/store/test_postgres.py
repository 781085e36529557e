"""The same store code on a real PostgreSQL server, started in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import postgres
from pipelines import bootstrap
from pipelines.config import Settings
from pipelines.store.documents import document_text, list_chunks, list_documents
from pipelines.store.projects import get_project, latest_submissions, submit, update_project
from pipelines.types import StaleEdit

pytestmark = pytest.mark.slow
PORT = "55433"


@pytest.fixture(scope="module")
def postgres_url():
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed here")
    with postgres.temporary_server(PORT) as url:
        yield url


def new_database(url: str, name: str) -> str:
    """An empty database beside the server's default one; its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return url.replace("/postgres?", f"/{name}?")


def test_store_runs_on_postgresql(postgres_url, unlearn_home, monkeypatch):
    monkeypatch.setenv("UNLEARN_DATABASE_URL", postgres_url)
    started = bootstrap.start(Settings.from_env())
    assert bootstrap.seed_demo(started.store, started.admin)
    store, admin = started.store, started.admin
    demo = get_project(store, "Demo")
    assert (demo.n_forget, demo.n_retain) == (3, 1)
    doc = list_documents(store, demo.id)[0]
    text = document_text(store, doc.id)
    assert all(text[c.start : c.end] == c.text for c in list_chunks(store, doc.id))
    update_project(store, admin, demo.id, demo.version, target_description="edited")
    with pytest.raises(StaleEdit):
        update_project(store, admin, demo.id, demo.version, target_description="stale")
    submit(store, admin, demo.id, "chunk", 1, {"keep": True})
    assert latest_submissions(store, demo.id, "chunk", 1) == {admin.user_id: {"keep": True}}
    assert Path(store.settings.home).exists()


def test_a_sqlite_backup_restores_on_postgresql_and_a_project_export_imports(
    postgres_url, unlearn_home, monkeypatch, tmp_path
):
    from pipelines.store import archive
    from pipelines.store.projects import create_project
    from tests.store.test_archive import (
        archive_tables,
        people_worked_on_the_demo,
        without_the_restore,
    )

    lite = bootstrap.start(Settings.from_env())  # SQLite, the default
    project = people_worked_on_the_demo(lite.store, lite.admin)
    whole, one = tmp_path / "all.zip", tmp_path / "demo.zip"
    archive.backup(lite.store, lite.admin, whole)
    archive.export_project(lite.store, lite.admin, project.id, one)

    monkeypatch.setenv("UNLEARN_HOME", str(tmp_path / "pg-home"))
    monkeypatch.setenv("UNLEARN_DATABASE_URL", new_database(postgres_url, "restored"))
    started = bootstrap.start(Settings.from_env())
    pg = started.store
    archive.restore(pg, started.admin, whole)
    again = tmp_path / "again.zip"
    archive.backup(pg, lite.admin, again)
    assert without_the_restore(again) == archive_tables(whole)
    # the sequences continue after the restored ids, and an export imports beside it
    assert create_project(pg, lite.admin, "New", "smollm2-135m").id == project.id + 1
    copy = archive.import_project(pg, lite.admin, one, name="Demo copy")
    assert get_project(pg, copy).n_forget == project.n_forget


def test_concurrent_imports_and_a_hostile_dictionary_on_postgresql(
    postgres_url, unlearn_home, monkeypatch
):
    from pipelines.anchors import dictionary
    from pipelines.types import UnlearnError
    from tests.anchors.test_anchors import make_project
    from tests.anchors.test_versions import check_concurrent_imports

    monkeypatch.setenv("UNLEARN_DATABASE_URL", new_database(postgres_url, "versions"))
    started = bootstrap.start(Settings.from_env())
    check_concurrent_imports(started.store, started.admin)
    project = make_project(started.store, started.admin, name="Hostile")
    with pytest.raises(UnlearnError, match="appears twice"):
        data = b'[{"term": "Ada", "term": "Bo", "translation": "Jo"}]'
        dictionary.import_dictionary(started.store, started.admin, project, data, "d.json")
    assert dictionary.versions(started.store, project) == []
