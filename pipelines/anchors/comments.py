"""Comments and flags on a chunk: an annotator asks about a passage or flags it for a reviewer,
anyone on the project answers, a reviewer resolves the flag. Every comment is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.projects import ProjectInfo, submissions_of_kind, submit
from pipelines.store.users import usernames
from pipelines.types import Actor, UnlearnError

KIND = "anchors.comment"  # one thread per chunk: item id = chunk id
RESOLVE = "review.submit"  # the action a resolve is: reviewers and up
MAX_CHARS = 2_000


@dataclass(frozen=True)
class Comment:
    chunk_id: int
    text: str
    author: str
    at: datetime
    flag: bool  # asks a reviewer to look at the chunk
    resolves: bool  # a reviewer's close of the chunk's open flag


def add(
    store: Store, actor: Actor, project: ProjectInfo, chunk_id: int, text: str, flag: bool = False
) -> int:
    """A comment on a chunk (everyone on the project), optionally flagging it for a reviewer."""
    text = text.strip()
    if not text:
        raise UnlearnError("Write the comment first.")
    if len(text) > MAX_CHARS:
        raise UnlearnError(f"A comment is at most {MAX_CHARS:,} characters; this is {len(text):,}.")
    payload = {"text": text, "flag": bool(flag), "resolves": False}
    return submit(store, actor, project.id, KIND, chunk_id, payload)


def resolve(store: Store, actor: Actor, project: ProjectInfo, chunk_id: int, text: str) -> int:
    """Close the chunk's open flag with a word on what was done (reviewers and up)."""
    authorize(store, actor, RESOLVE)  # before anything of the project is read
    if chunk_id not in open_flags(store, project):
        raise UnlearnError("This chunk has no open flag.")
    text = text.strip() or "Resolved."
    payload = {"text": text[:MAX_CHARS], "flag": False, "resolves": True}
    return submit(store, actor, project.id, KIND, chunk_id, payload, action=RESOLVE)


def thread(store: Store, project: ProjectInfo, chunk_id: int) -> list[Comment]:
    """The chunk's comments, oldest first."""
    return _comments(store, project, chunk_id)


def open_flags(store: Store, project: ProjectInfo) -> dict[int, list[Comment]]:
    """Chunks flagged since their last resolve, each with its thread, in the order flagged."""
    threads: dict[int, list[Comment]] = {}
    for comment in _comments(store, project):
        threads.setdefault(comment.chunk_id, []).append(comment)
    return {chunk: comments for chunk, comments in threads.items() if is_open(comments)}


def is_open(comments: list[Comment]) -> bool:
    """Whether a thread (oldest first) has a flag no later comment resolved."""
    state = False
    for comment in comments:
        state = (state or comment.flag) and not comment.resolves
    return state


def _comments(store: Store, project: ProjectInfo, chunk_id: int | None = None) -> list[Comment]:
    names = usernames(store)
    rows = submissions_of_kind(store, project.id, KIND, item_id=chunk_id)
    return [
        Comment(
            r.item_id,
            r.payload["text"],
            names.get(r.user_id, str(r.user_id)),
            r.created_at,
            bool(r.payload.get("flag")),
            bool(r.payload.get("resolves")),
        )  # fmt: skip
        for r in rows
    ]
