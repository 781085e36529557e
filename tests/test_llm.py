"""pipelines.llm against a real OpenAI-compatible HTTP server (llm-katan) on localhost."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from pipelines.anchors import propose as anchors
from pipelines.llm import LLMClient, LLMFailure, LLMSettings, build_request
from pipelines.store.llm_calls import StoredCallLog, recent_calls
from tests.servers import KATAN, llm_server


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal[1, 2, 3, 4]
    rationale: str


def katan(*flags: str):
    if KATAN is None:
        pytest.skip("llm-katan is not installed (it is in the dev extra)")
    return llm_server(*flags)


def client(store, port, **settings) -> LLMClient:
    base = dict(model="gpt-4o", base_url=f"http://127.0.0.1:{port}/v1", backoff_s=0.05)
    return LLMClient(LLMSettings(**(base | settings)), StoredCallLog(store))


def test_a_structured_reply_is_parsed_logged_with_tokens_and_then_served_from_cache(store):
    server, port = katan()
    with server:
        llm = client(store, port, mode="tools")
        verdict, cached = llm.structured("judge", "Rate it.", "a completion", Verdict)
        again, cached_again = llm.structured("judge", "Rate it.", "a completion", Verdict)
    assert isinstance(verdict, Verdict) and verdict.category in (1, 2, 3, 4)
    assert (cached, cached_again) == (False, True) and again == verdict
    (call,) = recent_calls(store)  # the cached answer made no second request
    assert call.ok and call.purpose == "judge" and call.prompt_tokens > 0
    assert call.request["tool_choice"]["function"]["name"] == "reply"


def test_a_reply_that_is_not_the_schema_is_a_recorded_failure(store):
    server, port = katan()
    with server:
        with pytest.raises(LLMFailure, match="does not match the expected JSON"):
            client(store, port, mode="json_schema").structured("judge", "s", "u", Verdict)
    (call,) = recent_calls(store)
    assert not call.ok and "[echo]" in call.reply and "expected JSON" in call.error


def test_rate_limits_are_retried_with_backoff_then_reported(store):
    server, port = katan("--rate-limit-after", "1")
    waits = []
    with server:
        llm = LLMClient(
            LLMSettings(model="gpt-4o", base_url=f"http://127.0.0.1:{port}/v1", mode="tools",
                        max_attempts=3, backoff_s=0.01),
            StoredCallLog(store),
            sleep=waits.append,
        )  # fmt: skip
        llm.structured("judge", "s", "first", Verdict)
        with pytest.raises(LLMFailure, match="HTTP 429.*after 3 attempts"):
            llm.structured("judge", "s", "second", Verdict)
    assert waits == [0.01, 0.02]  # exponential backoff between the three attempts
    failed = recent_calls(store)[0]
    assert not failed.ok and failed.attempts == 3


def test_a_slow_server_times_out_and_the_anchor_run_goes_on(store):
    server, port = katan("--latency-ms", "1500")
    with server:
        llm = client(store, port, mode="tools", timeout_s=0.3, max_attempts=2)
        result = anchors.ProposeResult()
        chunks = [anchors.ChunkText(1, "Ada rode."), anchors.ChunkText(2, "Bo sang.")]
        spans = anchors.propose_llm(chunks, llm, result)
    assert spans == [] and [f["chunk_id"] for f in result.failures] == [1, 2]
    assert all("timed out" in f["reason"] for f in result.failures)


def test_the_anchor_proposer_round_trips_through_the_server(store):
    server, port = katan()
    with server:
        result = anchors.ProposeResult()
        spans = anchors.propose_llm(
            [anchors.ChunkText(1, "Ada rode.")], client(store, port, mode="tools"), result
        )
    assert spans == [] and result.failures == []  # a valid, empty term list
    (call,) = recent_calls(store)
    assert call.ok and call.purpose == "anchors.propose"


def test_requests_ask_for_the_schema_in_each_mode():
    for mode, key in [("json_schema", "response_format"), ("tools", "tools")]:
        request = build_request(LLMSettings(model="m", mode=mode), "s", "u", Verdict)
        assert key in request
    plain = build_request(LLMSettings(model="m", mode="json_object"), "s", "u", Verdict)
    assert '"rationale"' in plain["messages"][0]["content"]


def test_settings_come_from_the_environment():
    assert LLMSettings.from_env({}) is None
    settings = LLMSettings.from_env(
        {"UNLEARN_LLM_MODEL": "gpt-4o-mini", "UNLEARN_LLM_BASE_URL": "http://x/v1"}
    )
    assert settings.model == "gpt-4o-mini" and settings.mode == "json_schema"
