"""Sign-in sessions that survive a page reload: random tokens, stored hashed, that expire and
that the server can revoke (sign-out, a deactivated account, a password reset)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from pipelines.store import Store
from pipelines.store.access import current_actor
from pipelines.store.tables import SignInSession, utcnow
from pipelines.types import Actor


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: Store, actor: Actor) -> str:
    """A new token for this browser, valid for the configured lifetime."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=store.settings.session_hours)
    with store.session() as s:
        s.add(SignInSession(token_hash=_hash(token), user_id=actor.user_id, expires_at=expires))
    return token


def session_actor(store: Store, token: str | None) -> Actor | None:
    """The person a token signs in: None when it is unknown, expired, revoked or the account is
    deactivated."""
    if not isinstance(token, str) or not token:
        return None
    with store.session() as s:
        row = s.scalar(select(SignInSession).where(SignInSession.token_hash == _hash(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        user_id = row.user_id
    return current_actor(store, user_id)


def revoke(store: Store, token: str | None = None, user_id: int | None = None) -> None:
    """End one browser's session (sign-out) or every session of a person."""
    where = SignInSession.token_hash == _hash(token) if token else None
    if user_id is not None:
        where = SignInSession.user_id == user_id
    if where is None:
        return
    with store.session() as s:
        s.execute(
            update(SignInSession)
            .where(where, SignInSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
