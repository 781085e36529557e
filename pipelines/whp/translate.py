"""Rewrite text with the anchor dictionary (WHP step 2) and keep a two-way character offset map."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Suffixes carried over from the anchor to its translation: possessives, then plurals.
_SUFFIX = r"(?:['’]s\b|['’](?!\w)|es\b|s\b)?"


@dataclass(frozen=True)
class Replacement:
    """One anchor occurrence: where it was in the original and where its translation went."""

    term: str
    src_start: int
    src_end: int
    dst_start: int
    dst_end: int
    occurrence: int  # 0 for the first time this term appears in the text, 1 for the second, ...


@dataclass(frozen=True)
class Translation:
    source: str
    text: str
    replacements: tuple[Replacement, ...]

    def to_translated(self, index: int) -> int | None:
        """Where source character `index` is in the translation; None inside a replaced span."""
        src = [(r.src_start, r.src_end) for r in self.replacements]
        return _map_index(index, src, [r.dst_end for r in self.replacements])

    def to_source(self, index: int) -> int | None:
        """Where translated character `index` came from; None inside an inserted translation."""
        dst = [(r.dst_start, r.dst_end) for r in self.replacements]
        return _map_index(index, dst, [r.src_end for r in self.replacements])

    def boundary_to_translated(self, index: int) -> int | None:
        """Map a position *between* characters (an end offset); a replaced span's end maps too."""
        for r in self.replacements:
            if r.src_start < index < r.src_end:
                return None
            if index == r.src_end:
                return r.dst_end
        return self.to_translated(index) if index < len(self.source) else len(self.text)


def _map_index(index: int, spans: list[tuple[int, int]], other_ends: list[int]) -> int | None:
    """Map a character through sorted replaced spans: None inside one, else shifted by the
    length difference accumulated up to the last span before it (whose end maps to other_end).
    """
    i = bisect.bisect_right([start for start, _ in spans], index) - 1
    if i < 0:
        return index
    if index < spans[i][1]:
        return None
    return index + other_ends[i] - spans[i][1]


def _match_case(translation: str, matched: str) -> str:
    if matched.isupper() and len(matched) > 1:
        return translation.upper()
    if matched.islower():
        return translation.lower()
    return translation


class Translator:
    """Longest match first, on word boundaries, any letter case, one fixed translation per term."""

    def __init__(self, dictionary: Mapping[str, str]):
        self.by_key = {term.casefold(): (term, tr) for term, tr in dictionary.items() if term}
        terms = sorted(self.by_key, key=len, reverse=True)
        alternatives = "|".join(re.escape(t) for t in terms) or r"(?!x)x"
        self.pattern = re.compile(rf"(?<!\w)({alternatives}){_SUFFIX}(?!\w)", re.IGNORECASE)

    def translate(self, text: str) -> Translation:
        parts, replacements, seen = [], [], {}
        cursor = out_len = 0
        for match in self.pattern.finditer(text):
            term, translation = self.by_key[match.group(1).casefold()]
            suffix = match.group(0)[len(match.group(1)) :]
            new = _match_case(translation, match.group(1)) + suffix
            parts.append(text[cursor : match.start()])
            out_len += match.start() - cursor
            occurrence = seen.get(term, 0)
            seen[term] = occurrence + 1
            replacements.append(
                Replacement(
                    term, match.start(), match.end(), out_len, out_len + len(new), occurrence
                )
            )
            parts.append(new)
            out_len += len(new)
            cursor = match.end()
        parts.append(text[cursor:])
        return Translation(text, "".join(parts), tuple(replacements))
