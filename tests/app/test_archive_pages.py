"""Backups, exports and imports from the pages: an admin backs up the store, a researcher
exports a project and imports it back under a new name, an annotator sees neither."""

from __future__ import annotations

import zipfile

from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.projects import get_project, list_projects
from pipelines.types import Role
from tests.app.test_app import add_user, sign_in
from tests.conftest import ADMIN_PASSWORD


def test_an_admin_backs_up_the_store_from_the_admin_page(app):
    sign_in(app, "admin", ADMIN_PASSWORD)
    app.switch_page("app_pages/admin.py").run()
    app.button(key="backup_make").click().run()
    assert not app.exception
    (made,) = (Settings.from_env().home / "archives").glob("backup-*.zip")
    with zipfile.ZipFile(made) as archive:
        assert "tables/users.jsonl" in archive.namelist()
    assert any("Backed up" in s.value for s in app.success)
    assert app.download_button(key="backup_download").label.startswith(f"Download {made.name}")


def test_a_researcher_exports_a_project_and_imports_it_under_a_new_name(app):
    add_user("rita", Role.RESEARCHER)
    sign_in(app, "rita", "rita-password")
    app.switch_page("app_pages/projects.py").run()
    store = open_store(Settings.from_env())
    demo = get_project(store, "Demo")
    assert "Export and import" in [t.label for t in app.tabs]
    app.button(key=f"export_make_{demo.id}").click().run()
    assert not app.exception
    (made,) = (Settings.from_env().home / "archives").glob("Demo-*.unlearn.zip")
    app.file_uploader(key="import_file").upload(made.name, made.read_bytes(), "application/zip")
    app.run()
    app.text_input(key="import_name").input("Demo copy")
    app.button(key="import_go").click().run()
    assert not app.exception
    copy = get_project(store, "Demo copy")
    assert copy.id != demo.id and copy.n_forget == demo.n_forget
    assert any("Imported as project Demo copy" in s.value for s in app.success)
    assert len(list((Settings.from_env().home / "archives").glob(".upload-*"))) == 0

    app.file_uploader(key="import_file").upload("junk.zip", b"not a zip", "application/zip")
    app.run()
    app.button(key="import_go").click().run()
    assert any("not a readable archive" in e.value for e in app.error)
    assert {p.name for p in list_projects(store)} == {"Demo", "Demo copy"}


def test_an_annotator_has_no_export_tab(app):
    add_user("ann", Role.ANNOTATOR)
    sign_in(app, "ann", "ann-password")
    app.switch_page("app_pages/projects.py").run()
    assert "Export and import" not in [t.label for t in app.tabs]
