"""The LLM call log: each request, reply and token count; successful rows are the cache."""

from __future__ import annotations

from sqlalchemy import select

from pipelines.store import Store
from pipelines.store.tables import LLMCall
from pipelines.types import CallRecord


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


class StoredCallLog:
    """The LLM client's call log and cache, kept in the store's llm_calls table."""

    def __init__(self, store: Store):
        self.store = store

    def cached_reply(self, cache_key: str) -> str | None:
        return cached_reply(self.store, cache_key)

    def record(self, record: CallRecord) -> None:
        record_call(self.store, record)
