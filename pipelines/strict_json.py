"""JSON from people's files, read strictly: duplicate keys and absurd nesting are refused."""

from __future__ import annotations

import json

from pipelines.types import UnlearnError


class JsonRefused(UnlearnError):
    """The text is not JSON this app accepts; the message says where and why."""


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise JsonRefused(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def loads(text: str, where: str) -> object:
    """json.loads, but a key given twice in one object (where json keeps the last silently) and
    nesting deeper than Python's stack are refused with a message naming `where`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise JsonRefused(f"{where}: not valid JSON (line {err.lineno}: {err.msg}).") from None
    except JsonRefused as err:
        raise JsonRefused(f"{where}: {err}.") from None
    except RecursionError:
        raise JsonRefused(f"{where}: the JSON is nested too deeply to read.") from None
