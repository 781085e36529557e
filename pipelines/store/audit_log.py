"""Reading the audit log: who did what, when, filtered and newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.tables import AuditEvent
from pipelines.types import Actor


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    username: str
    action: str
    target_type: str
    target_id: int | None
    detail: dict

    @property
    def target(self) -> str:
        return (
            self.target_type if self.target_id is None else f"{self.target_type} {self.target_id}"
        )

    @property
    def detail_text(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False) if self.detail else ""

    def as_row(self) -> dict:
        """The event as a table row: when, who, action, target, detail."""
        return {"when": self.at, "who": self.username, "action": self.action,
                "target": self.target, "detail": self.detail_text}  # fmt: skip


def events(
    store: Store,
    actor: Actor,
    *,
    username: str = "",
    action: str = "",
    since: datetime | None = None,
    limit: int = 200,
) -> list[Event]:
    """Audit events, newest first; `action` matches a prefix ("job." is every job action)."""
    authorize(store, actor, "audit.read")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if username:
        query = query.where(func.lower(AuditEvent.username) == username.strip().lower())
    if action:
        query = query.where(AuditEvent.action.startswith(action.strip(), autoescape=True))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    with store.session() as s:
        return [
            Event(e.id, e.at, e.username, e.action, e.target_type, e.target_id, e.detail or {})
            for e in s.scalars(query)
        ]


def actions(store: Store) -> list[str]:
    """Every action name the log holds, for a filter's choices."""
    with store.session() as s:
        return sorted(s.scalars(select(AuditEvent.action).distinct()))
