"""JSON from people's files, read strictly: duplicate keys, NaN and Infinity, and absurd
nesting are refused."""

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


def _no_constant(name: str) -> object:
    raise JsonRefused(f"{name} is not a JSON number")


def loads(text: str, where: str) -> object:
    """json.loads, but a key given twice in one object (where json keeps the last silently),
    NaN and Infinity (which json accepts though JSON has no such numbers) and nesting deeper
    than Python's stack are refused with a message naming `where`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise JsonRefused(f"{where}: not valid JSON (line {err.lineno}: {err.msg}).") from None
    except JsonRefused as err:
        raise JsonRefused(f"{where}: {err}.") from None
    except RecursionError:
        raise JsonRefused(f"{where}: the JSON is nested too deeply to read.") from None
