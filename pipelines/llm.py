"""The only module that imports openai: structured replies from any OpenAI-compatible endpoint."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import openai
from pydantic import BaseModel, ValidationError

from pipelines.types import CallLog, CallRecord, UnlearnError

# How the reply's shape is requested: a JSON schema (OpenAI, vLLM, llama.cpp), a forced tool call
# (servers with function calling but no schema support), or plain JSON mode with the schema in the
# system prompt.
MODES = ("json_schema", "tools", "json_object")
RETRYABLE = (
    openai.RateLimitError,
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.InternalServerError,
)
Parsed = TypeVar("Parsed", bound=BaseModel)


class LLMFailure(UnlearnError):
    """A call that gave no usable reply; the message says why, and the call is in the log."""


@dataclass(frozen=True)
class LLMSettings:
    model: str
    base_url: str | None = None
    api_key: str = "not-needed"
    mode: str = "json_schema"
    timeout_s: float = 60.0
    max_attempts: int = 4
    backoff_s: float = 1.0
    temperature: float = 0.0
    max_tokens: int = 2048

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LLMSettings | None:
        """The endpoint named by UNLEARN_LLM_*; None when no model is configured (offline)."""
        model = env.get("UNLEARN_LLM_MODEL", "").strip()
        if not model:
            return None
        mode = env.get("UNLEARN_LLM_MODE", "json_schema")
        if mode not in MODES:
            raise UnlearnError(f"UNLEARN_LLM_MODE must be one of {', '.join(MODES)}, not {mode!r}.")
        return cls(
            model=model,
            base_url=env.get("UNLEARN_LLM_BASE_URL") or None,
            api_key=env.get("UNLEARN_LLM_API_KEY") or env.get("OPENAI_API_KEY") or "not-needed",
            mode=mode,
            timeout_s=float(env.get("UNLEARN_LLM_TIMEOUT", "60")),
        )

    def describe(self) -> str:
        return f"{self.model} at {self.base_url or 'api.openai.com'}"


def _schema_of(schema: type[BaseModel]) -> dict:
    return schema.model_json_schema()


def build_request(settings: LLMSettings, system: str, user: str, schema: type[BaseModel]) -> dict:
    """The chat.completions arguments that ask for a reply shaped like `schema`."""
    shape = _schema_of(schema)
    if settings.mode == "json_object":
        system = (
            f"{system}\n\nReply with one JSON object matching this JSON schema:\n"
            + json.dumps(shape)
        )
    request = {
        "model": settings.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
    }
    if settings.mode == "json_schema":
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": shape, "strict": True},
        }
    elif settings.mode == "tools":
        request["tools"] = [
            {"type": "function", "function": {"name": "reply", "parameters": shape}}
        ]
        request["tool_choice"] = {"type": "function", "function": {"name": "reply"}}
    else:
        request["response_format"] = {"type": "json_object"}
    return request


def cache_key(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def reply_text(response) -> str:
    """The reply's JSON text: a forced tool call's arguments, else the message content."""
    if not response.choices:
        raise LLMFailure("the endpoint returned no choices")
    message = response.choices[0].message
    if message.tool_calls:
        return message.tool_calls[0].function.arguments
    return message.content or ""


def _retry_after(err: Exception) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def describe_error(err: Exception) -> str:
    if isinstance(err, openai.APITimeoutError):
        return "timed out"
    if isinstance(err, openai.APIConnectionError):
        return f"could not connect ({err.__cause__ or err})"
    if isinstance(err, openai.APIStatusError):
        return f"HTTP {err.status_code}: {err.message}"
    return str(err)


class LLMClient:
    """Structured calls with retries and backoff; each call is logged, and ok replies cached."""

    def __init__(
        self,
        settings: LLMSettings,
        log: CallLog | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        client=None,
    ):
        self.settings = settings
        self.log = log
        self._sleep = sleep
        self._client = client or openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            timeout=settings.timeout_s,
            max_retries=0,  # retries are ours, so that each attempt is counted and logged
        )

    def structured(
        self, purpose: str, system: str, user: str, schema: type[Parsed]
    ) -> tuple[Parsed, bool]:
        """The reply parsed into `schema`, and whether it came from the cache."""
        request = build_request(self.settings, system, user, schema)
        key = cache_key(request)
        if self.log is not None and (cached := self.log.cached_reply(key)) is not None:
            return schema.model_validate_json(cached), True
        started = time.monotonic()
        response, attempts = self._send(request, purpose, key, started)
        text = reply_text(response)
        usage = getattr(response, "usage", None)
        tokens = (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
        try:
            value = schema.model_validate_json(text)
        except ValidationError as err:
            reason = f"the reply does not match the expected JSON: {_first_error(err)}"
            self._log(key, purpose, request, text, reason, attempts, tokens, started)
            raise LLMFailure(reason) from None
        self._log(key, purpose, request, text, None, attempts, tokens, started)
        return value, False

    def _send(self, request: dict, purpose: str, key: str, started: float):
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._client.chat.completions.create(**request), attempts
            except RETRYABLE as err:
                if attempts >= self.settings.max_attempts:
                    reason = f"{describe_error(err)} (after {attempts} attempts)"
                    self._log(key, purpose, request, None, reason, attempts, (None, None), started)
                    raise LLMFailure(reason) from None
                wait = _retry_after(err) or self.settings.backoff_s * 2 ** (attempts - 1)
                self._sleep(min(wait, 60.0))
            except openai.APIStatusError as err:
                reason = f"the endpoint refused the request: {describe_error(err)}"
                self._log(key, purpose, request, None, reason, attempts, (None, None), started)
                raise LLMFailure(reason) from None

    def _log(self, key, purpose, request, reply, error, attempts, tokens, started) -> None:
        if self.log is None:
            return
        self.log.record(
            CallRecord(
                cache_key=key,
                purpose=purpose,
                model=self.settings.model,
                request=request,
                reply=reply,
                ok=error is None,
                error=error,
                attempts=attempts,
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
                seconds=round(time.monotonic() - started, 3),
            ),
        )


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "reply"
    return f"{where}: {first.get('msg', 'invalid')}"


def client_from_env(log: CallLog | None) -> LLMClient | None:
    settings = LLMSettings.from_env()
    return LLMClient(settings, log) if settings else None
