"""Settings from the environment and one frozen config dataclass per stage."""

from __future__ import annotations

import os
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from pipelines.types import UnlearnError

# The checkout (or installed tree) that holds data/, app/ and annotation_templates/.
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "smollm2-135m"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where state lives; read once from the environment."""

    home: Path
    database_url: str
    headless_user: str = "admin"
    session_hours: float = 12.0  # how long a sign-in survives reloads (UNLEARN_SESSION_HOURS)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("UNLEARN_HOME", ".unlearn")).resolve()
        url = os.environ.get("UNLEARN_DATABASE_URL") or f"sqlite:///{home / 'unlearn.db'}"
        return cls(
            home=home,
            database_url=url,
            headless_user=os.environ.get("UNLEARN_USER", "admin"),
            session_hours=float(os.environ.get("UNLEARN_SESSION_HOURS", "12")),
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


def setting(
    default, help: str, choices: tuple = (), methods: tuple = (), label: str = "", **kwargs
):
    """A config field with its help text and allowed values, written once for the CLI, the
    Runs page's settings editor and the check in __post_init__; `methods`: the only methods
    it applies to (the editor hides it for the others); `label`: its name on pages where the
    field's own words do not say it (else readable_name's)."""
    metadata = {"help": help, "choices": tuple(choices), "methods": tuple(methods), "label": label}
    return field(default=default, metadata=metadata, **kwargs)


WORDS = {"lr": "learning rate", "npo": "NPO", "simnpo": "SimNPO", "undial": "UNDIAL",
         "kl": "KL", "whp": "WHP", "lora": "LoRA", "llm": "LLM", "muse": "MUSE",
         "ppl": "perplexity", "grad": "gradient", "accum": "accumulation", "zipf": "Zipf",
         "privleak": "PrivLeak"}  # fmt: skip


def readable_name(name: str) -> str:
    """A field name as people read it: "npo_beta" -> "NPO beta", "lr" -> "Learning rate"."""
    text = " ".join(WORDS.get(word, word) for word in name.split("_"))
    return text[:1].upper() + text[1:]


def setting_label(f) -> str:
    """A setting's name on pages: its own label where it has one, else its readable name."""
    return f.metadata.get("label") or readable_name(f.name)


def check_choices(config) -> None:
    """Refuse a value outside a field's declared choices, naming the setting and the choices."""
    for f in fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            value = getattr(config, f.name)
            raise UnlearnError(
                f"{type(config).__name__}.{f.name} is {value!r}; choose one of "
                f"{', '.join(map(str, choices))}."
            )


def from_dict(cls, data: dict):
    """Rebuild a (nested) config dataclass from its asdict() form; unknown keys are refused."""
    hints = typing.get_type_hints(cls)
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting {', '.join(sorted(unknown))}")
    values = {}
    for name, value in data.items():
        kind = hints[name]
        values[name] = from_dict(kind, value) if is_dataclass(kind) and value is not None else value
    return cls(**values)
