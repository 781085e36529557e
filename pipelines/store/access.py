"""Role checks and the audit log: every write calls `authorize` and `audit` in its transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pipelines.store.tables import AuditEvent, User
from pipelines.types import Actor, PermissionDenied, Role

_EVERYONE = frozenset(Role)
_RESEARCH = frozenset({Role.RESEARCHER, Role.ADMIN})

# action -> roles allowed to perform it. Admins may do everything.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "user.manage": frozenset({Role.ADMIN}),
    "project.create": _RESEARCH,
    "project.edit": _RESEARCH,
    "document.ingest": _RESEARCH,
    "artifact.register": _RESEARCH,
    "job.launch": _RESEARCH,
    "job.control": _RESEARCH,
    "annotation.submit": _EVERYONE,
    "anchors.propose": _RESEARCH,
    "dictionary.publish": _RESEARCH,
    "review.submit": frozenset({Role.REVIEWER, Role.RESEARCHER, Role.ADMIN}),
    "probes.edit": frozenset({Role.REVIEWER, Role.RESEARCHER, Role.ADMIN}),
    "project.export": _RESEARCH,
    "project.import": _RESEARCH,
    "store.backup": frozenset({Role.ADMIN}),
    "store.restore": frozenset({Role.ADMIN}),
    "audit.read": frozenset({Role.ADMIN}),
}


def current_actor(store, user_id: int) -> Actor | None:
    """The person with the role stored now; None once the account is deactivated or gone."""
    with store.session() as s:
        user = s.get(User, user_id)
        return actor_of(user) if user is not None and user.active else None


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=Role(user.role))


def can(actor: Actor, action: str) -> bool:
    return actor.role in PERMISSIONS[action]


def authorize(store, actor: Actor, action: str) -> None:
    """Refuse the action unless the actor's current role allows it (the UI hiding a page is not
    enough). The role is read from the store, so a role changed or an account deactivated
    since sign-in counts at once; a refusal is written to the audit log."""
    now = current_actor(store, actor.user_id)
    if now is not None and can(now, action):
        return
    held = Role(now.role).value if now is not None else "deactivated"
    with store.session() as s:
        audit(s, actor, "permission.denied", "action", None, refused=action, role=held)
    raise PermissionDenied(
        f"{actor.username} ({held}) may not {action.replace('.', ' ')}; "
        f"allowed roles: {', '.join(sorted(PERMISSIONS[action]))}."
    )


def audit(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    **detail,
) -> None:
    session.add(
        AuditEvent(
            user_id=actor.user_id,
            username=actor.username,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )
