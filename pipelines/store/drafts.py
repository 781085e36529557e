"""Work in progress: one draft per person and item, saved as they edit, until they submit."""

from __future__ import annotations

from sqlalchemy import delete, select

from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.tables import Draft, utcnow
from pipelines.types import Actor


def save_draft(
    store: Store, actor: Actor, project_id: int, kind: str, item_id: int, payload: dict
) -> None:
    """Replace this person's draft of the item (nobody else's)."""
    authorize(store, actor, "annotation.submit")
    with store.session() as s:
        found = s.scalar(_mine(actor, kind, item_id))
        if found is None:
            s.add(Draft(project_id=project_id, user_id=actor.user_id, item_kind=kind,
                        item_id=item_id, payload=payload))  # fmt: skip
        else:
            found.payload, found.updated_at = payload, utcnow()


def load_draft(store: Store, actor: Actor, kind: str, item_id: int) -> dict | None:
    with store.session() as s:
        found = s.scalar(_mine(actor, kind, item_id))
        return dict(found.payload) if found is not None else None


def drafted_items(store: Store, actor: Actor, project_id: int, kind: str) -> set[int]:
    """Items this person has unsubmitted work on."""
    with store.session() as s:
        query = select(Draft.item_id).where(
            Draft.user_id == actor.user_id, Draft.project_id == project_id, Draft.item_kind == kind
        )
        return set(s.scalars(query))


def drop_draft(store: Store, actor: Actor, kind: str, item_id: int) -> None:
    """After the submission that supersedes it."""
    with store.session() as s:
        s.execute(
            delete(Draft).where(
                Draft.user_id == actor.user_id, Draft.item_kind == kind, Draft.item_id == item_id
            )
        )


def _mine(actor: Actor, kind: str, item_id: int):
    return select(Draft).where(
        Draft.user_id == actor.user_id, Draft.item_kind == kind, Draft.item_id == item_id
    )
