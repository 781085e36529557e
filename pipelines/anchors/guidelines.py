"""A project's annotation guidelines: written by researchers, read beside every review queue.
Every save is kept (who and when); the newest is in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipelines.store import Store
from pipelines.store.projects import ProjectInfo, submissions_of_kind, submit
from pipelines.store.users import usernames
from pipelines.types import Actor, UnlearnError

KIND = "guidelines"  # one item per project: item id 0
MAX_CHARS = 20_000  # a few pages of rules and examples


@dataclass(frozen=True)
class Guidelines:
    text: str
    author: str
    saved_at: datetime


def history(store: Store, project: ProjectInfo) -> list[Guidelines]:
    """Every saved version, newest first."""
    names = usernames(store)
    rows = submissions_of_kind(store, project.id, KIND, item_id=0)
    return [
        Guidelines(r.payload["text"], names.get(r.user_id, str(r.user_id)), r.created_at)
        for r in reversed(rows)
    ]


def current(store: Store, project: ProjectInfo) -> Guidelines | None:
    found = history(store, project)
    return found[0] if found else None


def save(store: Store, actor: Actor, project: ProjectInfo, text: str) -> int:
    """Store a new version (researchers and admins); refused when empty or too long."""
    text = text.strip()
    if not text:
        raise UnlearnError("Write the guidelines first; an empty text would hide the old ones.")
    if len(text) > MAX_CHARS:
        raise UnlearnError(
            f"Guidelines are {len(text):,} characters; keep them under {MAX_CHARS:,}."
        )
    return submit(store, actor, project.id, KIND, 0, {"text": text}, action="project.edit")
