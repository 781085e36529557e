"""Retain text shipped with the product: general knowledge and other famous fiction, written for
it, mixed into the retain term so that what the model knows of the world is what it keeps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from wordfreq import zipf_frequency

from pipelines.config import REPO_ROOT

SHIPPED = (
    REPO_ROOT / "data" / "retain" / "general.md",
    REPO_ROOT / "data" / "retain" / "fiction.md",
)
MIXES = ("beside", "instead", "none")  # with the project's retain text, in its place, or not
WORD = re.compile(r"\w+")
NAME_MAX_ZIPF = 5.0  # an anchor's word this common in English ("white", "march") names nothing


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def target_names(anchors: Iterable[str]) -> set[str]:
    """The anchors' words that name something (lowercase); "the", "time", "white" do not."""
    return {w for term in anchors for w in _words(term) if zipf_frequency(w, "en") < NAME_MAX_ZIPF}


def names_any(text: str, names: set[str]) -> bool:
    return bool(names & _words(text))


def shipped_paragraphs(anchors: Iterable[str]) -> list[str]:
    """The shipped paragraphs that name none of the target's anchor words (a project that
    forgets one of the stories must not be taught to keep it)."""
    names = target_names(anchors)
    paragraphs = [p.strip() for path in SHIPPED
                  for p in path.read_text(encoding="utf-8").split("\n\n")
                  if p.strip() and not p.startswith("#")]  # fmt: skip
    return [p for p in paragraphs if not names_any(p, names)]


def retain_mix(project_texts: Sequence[str], anchors: Iterable[str], mix: str) -> list[str]:
    """The texts the retain term trains on under the chosen mix."""
    if mix == "none":
        return list(project_texts)
    shipped = ["\n\n".join(shipped_paragraphs(anchors))]
    return shipped if mix == "instead" else [*project_texts, *shipped]
