"""The LLM call log: each request, reply and token count; successful rows are the cache."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pipelines.store import Store
from pipelines.store.tables import LLMCall


@dataclass(frozen=True)
class CallRecord:
    cache_key: str
    purpose: str
    model: str
    request: dict
    reply: str | None
    ok: bool
    error: str | None
    attempts: int
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float


def record_call(store: Store, record: CallRecord) -> int:
    with store.session() as s:
        row = LLMCall(**record.__dict__)
        s.add(row)
        s.flush()
        return row.id


def cached_reply(store: Store, cache_key: str) -> str | None:
    """The reply of the newest successful call with this key, if any."""
    with store.session() as s:
        return s.scalar(
            select(LLMCall.reply)
            .where(LLMCall.cache_key == cache_key, LLMCall.ok.is_(True))
            .order_by(LLMCall.id.desc())
            .limit(1)
        )


def recent_calls(store: Store, limit: int = 200) -> list[CallRecord]:
    with store.session() as s:
        rows = s.scalars(select(LLMCall).order_by(LLMCall.id.desc()).limit(limit))
        return [
            CallRecord(
                r.cache_key,
                r.purpose,
                r.model,
                r.request,
                r.reply,
                r.ok,
                r.error,
                r.attempts,
                r.prompt_tokens,
                r.completion_tokens,
                r.seconds,
            )
            for r in rows
        ]
