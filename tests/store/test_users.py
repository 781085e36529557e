"""Users: hashed passwords, login, the first admin, role changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pipelines.store.tables import User
from pipelines.store.users import authenticate, create_user, ensure_admin, list_users, set_role
from pipelines.types import AuthError, PermissionDenied, Role, UnlearnError
from tests.conftest import ADMIN_PASSWORD


def test_passwords_are_stored_hashed_and_verified(store, admin):
    create_user(store, admin, "bob", "bob-secret-1", Role.REVIEWER)
    with store.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "bob"))
    assert "bob-secret-1" not in stored and stored.startswith("$argon2")
    assert authenticate(store, "bob", "bob-secret-1").role == Role.REVIEWER
    with pytest.raises(AuthError):
        authenticate(store, "bob", "wrong-password")
    with pytest.raises(AuthError):
        authenticate(store, "nobody", "bob-secret-1")


def test_first_start_generates_an_admin_password_once(store):
    admin, generated = ensure_admin(store, None)
    assert admin.role == Role.ADMIN and len(generated) >= 12
    assert authenticate(store, "admin", generated).username == "admin"
    assert ensure_admin(store, None) == (admin, None)


def test_only_admins_manage_users(store, admin, annotator):
    with pytest.raises(PermissionDenied):
        create_user(store, annotator, "eve", "eve-secret-1", Role.ADMIN)
    set_role(store, admin, "ann", Role.REVIEWER)
    assert {u["username"]: u["role"] for u in list_users(store)}["ann"] == "reviewer"


def test_short_passwords_and_duplicate_users_are_refused(store, admin):
    with pytest.raises(UnlearnError, match="at least"):
        create_user(store, admin, "short", "abc", Role.ANNOTATOR)
    with pytest.raises(UnlearnError, match="already exists"):
        create_user(store, admin, "admin", "long-enough-1", Role.ANNOTATOR)


def test_a_role_change_applies_to_a_signed_in_person_and_refusals_are_audited(store, admin):
    from pipelines.store.projects import create_project
    from pipelines.store.tables import AuditEvent

    signed_in = create_user(store, admin, "rhea", "rhea-secret-1", Role.RESEARCHER)
    create_project(store, signed_in, "Before", "smollm2-135m")
    set_role(store, admin, "rhea", Role.ANNOTATOR)  # `signed_in` still says researcher
    with pytest.raises(PermissionDenied, match=r"rhea \(annotator\)"):
        create_project(store, signed_in, "After", "smollm2-135m")
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == "rhea"))
        user.active = False
    with pytest.raises(PermissionDenied, match="deactivated"):
        create_project(store, signed_in, "After", "smollm2-135m")
    with store.session() as s:
        denied = s.scalars(select(AuditEvent).where(AuditEvent.action == "permission.denied"))
        assert [(e.username, e.detail["refused"]) for e in denied] == [
            ("rhea", "project.create"),
            ("rhea", "project.create"),
        ]


def test_a_refused_llm_proposal_run_makes_no_request(store, admin, annotator):
    from pipelines.anchors import project as anchor_project
    from pipelines.anchors import propose as anchors
    from pipelines.store.projects import create_project
    from tests.conftest import ScriptedLLM

    project = create_project(store, admin, "P", "smollm2-135m")
    client = ScriptedLLM([{"terms": []}] * 5)
    with pytest.raises(PermissionDenied):
        anchor_project.propose_project(
            store, annotator, project, anchors.ProposeConfig(sources=("llm",)),
            anchors.Proposers(client=client),
        )  # fmt: skip
    assert len(client.replies) == 5


def test_usernames_are_validated_and_unique_ignoring_case(store, admin):
    create_user(store, admin, "rev", "rev-secret-1", Role.REVIEWER)
    for bad in (" rev", "a b", "", "x", "<script>"):
        with pytest.raises(UnlearnError, match="username"):
            create_user(store, admin, bad, "long-enough-1", Role.REVIEWER)
    with pytest.raises(UnlearnError, match="already exists"):
        create_user(store, admin, "REV", "long-enough-1", Role.REVIEWER)
    assert [u["username"] for u in list_users(store)] == ["admin", "rev"]


def test_the_last_admin_stays_and_accounts_can_be_deactivated_and_reset(store, admin):
    from pipelines.store.users import reset_password, set_active

    with pytest.raises(UnlearnError, match="only active admin"):
        set_role(store, admin, "admin", Role.ANNOTATOR)
    with pytest.raises(UnlearnError, match="only active admin"):
        set_active(store, admin, "admin", False)
    create_user(store, admin, "bob", "bob-secret-1", Role.ANNOTATOR)
    set_active(store, admin, "bob", False)
    with pytest.raises(AuthError):
        authenticate(store, "bob", "bob-secret-1")
    set_active(store, admin, "bob", True)
    reset_password(store, admin, "bob", "new-secret-2")
    assert authenticate(store, "bob", "new-secret-2").username == "bob"
    with pytest.raises(AuthError):
        authenticate(store, "bob", "bob-secret-1")
    set_role(store, admin, "bob", Role.ADMIN)
    set_role(store, admin, "admin", Role.RESEARCHER)  # another admin exists now
    assert {u["username"]: u["role"] for u in list_users(store)}["admin"] == "researcher"


def test_sign_in_ignores_case_audits_failures_and_throttles_a_guessed_name(store, admin):
    from pipelines.store import audit_log
    from pipelines.store.users import MAX_FAILED_SIGN_INS

    create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
    assert authenticate(store, "ANN1", "ann1-password").username == "ann1"
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(AuthError, match="wrong password"):
            authenticate(store, "Ann1", "guess-guess")
    with pytest.raises(AuthError, match="Too many failed sign-ins"):
        authenticate(store, "ann1", "ann1-password")  # even the right password waits
    failed = audit_log.events(store, admin, action="signin.failed")
    assert len(failed) == MAX_FAILED_SIGN_INS and {e.username for e in failed} == {"ann1"}
    assert authenticate(store, "admin", ADMIN_PASSWORD).username == "admin"  # others unaffected
