"""Sign-in sessions: a token signs its person in until it expires or is revoked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from pipelines.store.sessions import open_session, revoke, session_actor
from pipelines.store.tables import SignInSession, utcnow
from pipelines.store.users import create_user, reset_password, set_active, set_role
from pipelines.types import Role


def test_a_token_signs_in_until_sign_out_expiry_deactivation_or_a_new_password(store, admin):
    bob = create_user(store, admin, "bob", "bob-secret-1", Role.ANNOTATOR)
    token = open_session(store, bob)
    with store.session() as s:
        stored = s.scalars(select(SignInSession.token_hash)).all()
    assert token not in stored  # only its hash is kept
    assert session_actor(store, token).username == "bob"
    set_role(store, admin, "bob", Role.REVIEWER)
    assert session_actor(store, token).role == Role.REVIEWER  # the role as stored now
    assert session_actor(store, "forged") is None and session_actor(store, None) is None

    revoke(store, token=token)  # sign-out
    assert session_actor(store, token) is None

    second, third = open_session(store, bob), open_session(store, bob)
    set_active(store, admin, "bob", False)
    assert session_actor(store, second) is None
    set_active(store, admin, "bob", True)
    assert session_actor(store, third) is None  # deactivation ended every session
    fourth = open_session(store, bob)
    reset_password(store, admin, "bob", "bob-secret-2")
    assert session_actor(store, fourth) is None

    fifth = open_session(store, bob)
    with store.session() as s:
        past = utcnow() - timedelta(minutes=1)
        s.execute(update(SignInSession).values(expires_at=past))
    assert session_actor(store, fifth) is None
