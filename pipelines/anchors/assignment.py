"""Which annotators see which chunks: each chunk goes to a set number of the project's active
annotators (the overlap), chosen by rendezvous hashing, so the shares stay even and a person
joining or leaving moves only their own share. No setting: every annotator sees every chunk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from pipelines.store import Store
from pipelines.store.projects import ProjectInfo, submissions_of_kind, submit
from pipelines.store.users import list_users
from pipelines.types import Actor, Role, UnlearnError

KIND = "anchors.assignment"  # one item per project: item id 0; payload {"per_chunk": k}


def _weight(chunk_id: int, username: str) -> bytes:
    return hashlib.blake2b(f"{chunk_id}\x00{username}".encode(), digest_size=8).digest()


def owners(chunk_id: int, annotators: Sequence[str], per_chunk: int) -> list[str]:
    """The per_chunk annotators a chunk goes to (all of them when there are fewer)."""
    ranked = sorted(annotators, key=lambda name: _weight(chunk_id, name), reverse=True)
    return ranked[:per_chunk]


def shares(chunk_ids: Iterable[int], annotators: Sequence[str], per_chunk: int) -> dict:
    """annotator -> the chunk ids assigned to them."""
    out: dict[str, set[int]] = {name: set() for name in annotators}
    for chunk_id in chunk_ids:
        for name in owners(chunk_id, annotators, per_chunk):
            out[name].add(chunk_id)
    return out


def annotators(store: Store) -> list[str]:
    """The active annotators: the people whose queues an assignment splits."""
    return [u["username"] for u in list_users(store)
            if u["active"] and u["role"] == Role.ANNOTATOR.value]  # fmt: skip


def per_chunk(store: Store, project: ProjectInfo) -> int:
    """Annotators per chunk in force; 0: no assignment, everyone sees every chunk."""
    rows = submissions_of_kind(store, project.id, KIND, item_id=0)
    return int(rows[-1].payload["per_chunk"]) if rows else 0


def set_per_chunk(store: Store, actor: Actor, project: ProjectInfo, value: int) -> int:
    """Researchers and admins set the overlap; 0 turns assignment off."""
    if not 0 <= value <= 20:
        raise UnlearnError("Annotators per chunk is 0 (everyone sees every chunk) to 20.")
    return submit(store, actor, project.id, KIND, 0, {"per_chunk": int(value)},
                  action="project.edit")  # fmt: skip


def assigned_to(store: Store, project: ProjectInfo, username: str, chunk_ids: Iterable[int]):
    """The chunks of chunk_ids this person is assigned; None when they see all of them (no
    assignment, or they are not an active annotator: reviewers and researchers see every chunk)."""
    k = per_chunk(store, project)
    people = annotators(store)
    if not k or username not in people:
        return None
    return {c for c in chunk_ids if username in owners(c, people, k)}
