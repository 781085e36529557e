"""Local users: argon2-hashed passwords, roles, login, and the first admin."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select

from pipelines.store import Store, row_or_missing
from pipelines.store.access import actor_of, audit, authorize
from pipelines.store.sessions import revoke
from pipelines.store.tables import AuditEvent, User, utcnow
from pipelines.types import Actor, AuthError, NotFound, Role, UnlearnError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
FAILED_SIGN_IN = "signin.failed"
MAX_FAILED_SIGN_INS = 5  # per username, in THROTTLE_MINUTES
THROTTLE_MINUTES = 15
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")


def _check_new_credentials(username: str, password: str) -> None:
    if not USERNAME.fullmatch(username):
        raise UnlearnError(
            "A username is 2-64 characters: letters, digits, dot, dash or underscore, starting "
            "with a letter or digit (no spaces)."
        )
    _check_password(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UnlearnError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(store: Store, actor: Actor, username: str, password: str, role: Role) -> Actor:
    authorize(store, actor, "user.manage")
    _check_new_credentials(username, password)
    with store.session() as s:
        if s.scalar(select(User).where(func.lower(User.username) == username.lower())):
            raise UnlearnError(f"A user named {username!r} already exists (names ignore case).")
        user = User(username=username, password_hash=_hasher.hash(password), role=role)
        s.add(user)
        s.flush()
        audit(s, actor, "user.create", "user", user.id, username=user.username, role=str(role))
        return actor_of(user)


def set_role(store: Store, actor: Actor, username: str, role: Role) -> None:
    authorize(store, actor, "user.manage")
    with store.session() as s:
        user = _get_user(s, username)
        old = user.role
        if role != Role.ADMIN:
            _keep_an_admin(s, user, f"make {username} a {Role(role).value}")
        user.role = role
        audit(s, actor, "user.set_role", "user", user.id, old=old, new=str(role))


def set_active(store: Store, actor: Actor, username: str, active: bool) -> None:
    """Deactivate (signs the person out and refuses every action) or reactivate an account."""
    authorize(store, actor, "user.manage")
    with store.session() as s:
        user = _get_user(s, username)
        if not active:
            _keep_an_admin(s, user, f"deactivate {username}")
        user.active = active
        audit(s, actor, "user.set_active", "user", user.id, active=active)
    if not active:
        revoke(store, user_id=user.id)


def reset_password(store: Store, actor: Actor, username: str, password: str) -> None:
    authorize(store, actor, "user.manage")
    _check_password(password)
    with store.session() as s:
        user = _get_user(s, username)
        user.password_hash = _hasher.hash(password)
        audit(s, actor, "user.reset_password", "user", user.id)
    revoke(store, user_id=user.id)  # signed-in browsers sign in again with the new password


def _keep_an_admin(session, user: User, what: str) -> None:
    """Refuse a change that would leave no active admin."""
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True))
    ).all()
    if user.role == Role.ADMIN.value and user.active and list(admins) == [user.id]:
        raise UnlearnError(f"Cannot {what}: it is the only active admin. Make another admin first.")


def _get_user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def authenticate(store: Store, username: str, password: str) -> Actor:
    """Return the actor for valid credentials; one vague message for every failure. Usernames
    match whatever their case (they are unique ignoring it); every failure is audited, and
    after MAX_FAILED_SIGN_INS failures in THROTTLE_MINUTES a name is refused unchecked until
    the window has passed."""
    name = username.strip()
    if _recent_failures(store, name) >= MAX_FAILED_SIGN_INS:
        raise AuthError(
            f"Too many failed sign-ins for {name!r}: wait {THROTTLE_MINUTES} minutes, or ask an "
            "admin to reset the password."
        )
    with store.session() as s:
        user = s.scalar(select(User).where(func.lower(User.username) == name.lower(),
                                           User.active.is_(True)))  # fmt: skip
        try:
            if user is None or not _hasher.verify(user.password_hash, password):
                raise AuthError("Unknown user or wrong password.")
            return actor_of(user)
        except (AuthError, VerificationError):
            pass
    with store.session() as s:  # its own transaction: the failure is kept
        s.add(AuditEvent(user_id=None, username=name.lower()[:120], action=FAILED_SIGN_IN,
                         target_type="user", target_id=None, detail={}))  # fmt: skip
    raise AuthError("Unknown user or wrong password.")


def _recent_failures(store: Store, name: str) -> int:
    since = utcnow() - timedelta(minutes=THROTTLE_MINUTES)
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == FAILED_SIGN_IN, AuditEvent.username == name.lower()[:120],
            AuditEvent.at >= since))  # fmt: skip


def actor_for(store: Store, username: str) -> Actor:
    """The headless CLI acts as a configured local user, so its writes stay attributed."""
    with store.session() as s:
        return actor_of(_get_user(s, username))


def actor_by_id(store: Store, user_id: int) -> Actor:
    """The person a background job acts for: the one who launched it."""
    with store.session() as s:
        return actor_of(row_or_missing(s, User, user_id, f"No user with id {user_id}."))


def list_users(store: Store) -> list[dict]:
    with store.session() as s:
        users = s.scalars(select(User).order_by(User.username)).all()
        return [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "active": u.active,
                "created": u.created_at,
            }
            for u in users
        ]


def usernames(store: Store) -> dict[int, str]:
    """Every account's name by its id (authors of stored rows, deactivated ones included)."""
    return {u["id"]: u["username"] for u in list_users(store)}


def ensure_admin(store: Store, password: str | None) -> tuple[Actor, str | None]:
    """Create the first admin when there are no users; return it and the password if generated."""
    with store.session() as s:
        if s.scalar(select(func.count(User.id))):
            admin = s.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
            return actor_of(admin), None
        generated = None if password else secrets.token_urlsafe(12)
        user = User(
            username="admin", password_hash=_hasher.hash(password or generated), role="admin"
        )
        s.add(user)
        s.flush()
        admin = actor_of(user)
        audit(s, admin, "user.create", "user", user.id, username="admin", role="admin")
        return admin, generated
