"""Shared value types: roles, the acting user, and the errors users see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"
    ADMIN = "admin"


class DocRole(StrEnum):
    FORGET = "forget"
    RETAIN = "retain"


@dataclass(frozen=True)
class Actor:
    """The person (or headless local user) on whose behalf a write happens."""

    user_id: int
    username: str
    role: Role


class UnlearnError(Exception):
    """An error whose message is meant for the person using the app or CLI."""


class PermissionDenied(UnlearnError):
    pass


class StaleEdit(UnlearnError):
    pass


class NotFound(UnlearnError):
    pass


class AuthError(UnlearnError):
    pass


class IngestError(UnlearnError):
    pass


class ModelLoadError(UnlearnError):
    pass
