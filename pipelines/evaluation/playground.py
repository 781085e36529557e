"""The playground: a prompt's greedy completion from several models side by side, with the
probability each gives an expected answer, decoded in the background while the page stays live.
"""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines import models
from pipelines.config import ModelConfig
from pipelines.evaluation.evaluate import EvalConfig, complete
from pipelines.evaluation.familiarity import answer_probabilities
from pipelines.types import UnlearnError

DRAFT_KIND = "playground"  # the typed prompt is kept as a draft per person and project


@dataclass(frozen=True)
class Answer:
    model: str
    prompt: str
    completion: str
    probability: float | None  # of the expected answer's first token, where one is given


class ModelCache:
    """The last few loaded models, shared by every page session of the server (thread-safe)."""

    def __init__(self, models_dir, size: int = 3):
        self.models_dir, self.size = models_dir, size
        self._loaded: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str):
        with self._lock:
            if source in self._loaded:
                self._loaded.move_to_end(source)
                return self._loaded[source]
            loaded = models.load(ModelConfig(source=source), models_dir=self.models_dir)
            loaded.model.eval()
            self._loaded[source] = loaded
            while len(self._loaded) > self.size:
                self._loaded.popitem(last=False)
            return loaded


def answers(
    name: str, loaded, prompts: Sequence[str], expected: str, config: EvalConfig
) -> list[Answer]:
    """One model's batched greedy completions of every prompt, and P(expected) for each."""
    completions = complete(loaded.model, loaded.tokenizer, prompts, config)
    probabilities = (
        answer_probabilities(
            loaded.model,
            loaded.tokenizer,
            [(p, expected) for p in prompts],
            str(loaded.model.device),
        )  # fmt: skip
        if expected.strip()
        else [None] * len(prompts)
    )
    return [
        Answer(name, prompt, completion, probability)
        for prompt, completion, probability in zip(prompts, completions, probabilities, strict=True)
    ]


@dataclass
class Decoding:
    """One press of the button: every chosen model in turn, on a background thread."""

    sources: dict[str, str]  # shown name -> model source
    prompts: list[str]
    expected: str = ""
    config: EvalConfig = field(default_factory=lambda: EvalConfig(max_new_tokens=32))
    results: list[Answer] = field(default_factory=list)
    done: int = 0
    current: str = ""
    error: str | None = None
    finished: bool = False
    announced: bool = False  # the page has seen it finish

    def start(self, cache: ModelCache) -> Decoding:
        if not self.sources:
            raise UnlearnError("Choose at least one model.")
        if not [p for p in self.prompts if p.strip()]:
            raise UnlearnError("Type a prompt or pick one.")
        threading.Thread(target=self._run, args=(cache,), daemon=True).start()
        return self

    def _run(self, cache: ModelCache) -> None:
        try:
            for name, source in self.sources.items():
                self.current = name
                self.results += answers(name, cache.get(source), self.prompts, self.expected,
                                        self.config)  # fmt: skip
                self.done += 1
        except Exception as err:  # shown on the page as a message, never as a traceback
            self.error = f"{self.current}: {err}"
            traceback.print_exc()
        finally:
            self.finished = True

    def progress(self) -> tuple[float, str]:
        total = len(self.sources)
        if self.finished:
            return 1.0, f"{self.done} of {total} models"
        return self.done / total, f"decoding with {self.current} ({self.done + 1} of {total})"


def split_prompts(text: str) -> list[str]:
    """Prompts typed in one box, separated by blank lines."""
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def side_by_side(results: Sequence[Answer]) -> list[dict]:
    """One row per prompt; a completion column and a probability column per model."""
    rows: dict[str, dict] = {}
    for answer in results:
        row = rows.setdefault(answer.prompt, {"prompt": answer.prompt})
        row[answer.model] = answer.completion
        if answer.probability is not None:
            row[f"P(expected) · {answer.model}"] = round(answer.probability, 4)
    return list(rows.values())
