"""The Streamlit shell under AppTest: sign-in, role-gated navigation, admin and project pages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.documents import list_chunks
from pipelines.store.users import create_user, ensure_admin, list_users
from pipelines.types import Role
from tests.conftest import ADMIN_PASSWORD


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    return at.run()


def add_user(username: str, role: Role) -> None:
    store = open_store(Settings.from_env())
    create_user(store, ensure_admin(store, None)[0], username, f"{username}-password", role)


def test_wrong_password_shows_an_error_and_stays_signed_out(app):
    sign_in(app, "admin", "not-the-password")
    assert "wrong password" in app.error[0].value
    assert "actor" not in app.session_state


def test_admin_sees_projects_with_the_seeded_demo_and_can_open_users(app):
    sign_in(app, "admin", ADMIN_PASSWORD)
    assert app.title[0].value == "Projects"
    assert app.selectbox(key="project_name").value == "Demo"
    assert any("book1.md" in str(df.value) for df in app.dataframe)
    app.switch_page("app_pages/admin.py").run()
    assert app.title[0].value == "Users"


def test_annotator_cannot_reach_the_admin_page_or_upload(app):
    add_user("annie", Role.ANNOTATOR)
    sign_in(app, "annie", "annie-password")
    assert app.title[0].value == "Projects"
    assert not [b for b in app.button if b.key == "ingest"]
    with pytest.raises(ValueError, match="Could not find"):
        app.switch_page("app_pages/admin.py")


def test_a_demoted_person_is_told_why_the_page_is_closed_to_them(app):
    from pipelines.store.users import set_role

    add_user("rita", Role.RESEARCHER)
    sign_in(app, "rita", "rita-password")
    app.switch_page("app_pages/runs.py").run()
    assert app.title[0].value == "Runs"
    assert not [w for w in app.warning if "Runs is open to" in w.value]
    store = open_store(Settings.from_env())
    set_role(store, ensure_admin(store, None)[0], "rita", Role.ANNOTATOR)
    app.run()  # her next click
    told = [w.value for w in app.warning if "Runs is open to" in w.value]
    assert told == ["Runs is open to researchers and admins; you are signed in as annotator."]
    assert not [b for b in app.button if b.label == "Launch"]


def test_admin_creates_a_reviewer_from_the_users_page(app):
    sign_in(app, "admin", ADMIN_PASSWORD)
    app.switch_page("app_pages/admin.py").run()
    app.text_input(key="new_username").input("rev")
    app.text_input(key="new_password").input("reviewer-pass")
    app.selectbox(key="new_role").set_value("reviewer")
    next(b for b in app.button if b.label == "Create user").click()
    app.run()
    assert "Created rev (reviewer)." in app.success[0].value
    users = {u["username"]: u["role"] for u in list_users(open_store(Settings.from_env()))}
    assert users["rev"] == "reviewer"


def test_admin_reads_the_audit_log_filtered_by_person_and_action(app):
    add_user("rita", Role.RESEARCHER)
    sign_in(app, "admin", ADMIN_PASSWORD)
    app.switch_page("app_pages/audit.py").run()
    assert app.title[0].value == "Audit log" and not app.exception
    everyone = app.dataframe[0].value
    assert {"user.create", "project.create", "document.ingest"} <= set(everyone["action"])
    app.selectbox[0].set_value("rita").run()
    assert not app.dataframe and "No events match" in app.info[0].value  # rita did nothing yet
    app.selectbox[0].set_value("admin").run()
    assert set(app.dataframe[0].value["who"]) == {"admin"}
    app.selectbox[0].set_value("everyone").run()
    app.selectbox[1].set_value("document.ingest").run()
    assert set(app.dataframe[0].value["action"]) == {"document.ingest"}


def test_researcher_creates_a_project_and_browses_demo_chunks(app):
    add_user("rita", Role.RESEARCHER)
    sign_in(app, "rita", "rita-password")
    app.text_input(key="new_project_name").input("Leaked memo")
    app.text_area(key="new_project_target").input("An internal memo")
    next(b for b in app.button if b.label == "Create project").click()
    app.run()
    assert app.selectbox(key="project_name").value == "Leaked memo"
    app.selectbox(key="project_name").set_value("Demo").run()
    assert app.selectbox(key="browse_doc_1").value == "book1.md (forget)"
    app.number_input(key="chunk_number_1").set_value(3).run()  # numbered from 1
    third = list_chunks(open_store(Settings.from_env()), 1)[2]
    assert app.text[0].value == third.text
    assert f"Characters {third.start}–{third.end}" in app.caption[-1].value


def test_signing_out_returns_to_the_sign_in_form(app):
    sign_in(app, "admin", ADMIN_PASSWORD)
    app.button(key="sign_out").click().run()
    assert app.text_input(key="login_username") is not None and "actor" not in app.session_state


def test_a_full_disk_is_a_message_on_the_page_not_a_traceback(app, tmp_path, monkeypatch):
    from pipelines.store import projects
    from tests.files import full_database_error

    error = full_database_error(tmp_path)
    sign_in(app, "admin", ADMIN_PASSWORD)

    def full(store):
        raise error

    monkeypatch.setattr(projects, "list_projects", full)
    app.switch_page("app_pages/generic_review.py").run()
    assert not app.exception
    assert any("disk is full" in e.value for e in app.error)
