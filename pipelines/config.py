"""Settings from the environment and one frozen config dataclass per stage."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where state lives; read once from the environment."""

    home: Path
    database_url: str
    headless_user: str = "admin"

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("UNLEARN_HOME", ".unlearn")).resolve()
        url = os.environ.get("UNLEARN_DATABASE_URL") or f"sqlite:///{home / 'unlearn.db'}"
        return cls(
            home=home, database_url=url, headless_user=os.environ.get("UNLEARN_USER", "admin")
        )

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


@dataclass(frozen=True)
class IngestConfig:
    """How uploads are checked and cut into annotation chunks."""

    max_bytes: int = 50 * MiB
    min_chunk_words: int = 100
    max_chunk_words: int = 400


@dataclass(frozen=True)
class ModelConfig:
    """Which causal LM to load and where to run it."""

    source: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "float32"


@dataclass(frozen=True)
class ProjectConfig:
    """The per-project settings a researcher edits; stored as JSON with the project."""

    base_model: str = DEFAULT_MODEL
    ingest: IngestConfig = field(default_factory=IngestConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProjectConfig:
        ingest = IngestConfig(**data.get("ingest", {}))
        return cls(base_model=data.get("base_model", DEFAULT_MODEL), ingest=ingest)
