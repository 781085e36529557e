"""Rewrite text with the anchor dictionary (WHP step 2) and keep a two-way character offset map."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Suffixes carried over from the anchor to its translation: possessives, then plurals.
_SUFFIX = r"(?i:['’]s\b|['’](?!\w)|es\b|s\b)?"
# A translation's own article is dropped after an article or possessive determiner in the text.
ARTICLE_BEFORE = re.compile(r"(?i)(?<!\w)(?:the|a|an|this|that|his|her|their|its|my|your|our)\s+$")
LEADING_ARTICLE = re.compile(r"(?i)^(?:the|a|an)\s+")


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


def _match_case(translation: str, matched: str, any_case: bool) -> str:
    if matched.isupper() and len(matched) > 1:
        return translation.upper()
    if matched.islower():
        return translation.lower()
    if any_case and matched[0].isupper():
        return translation[:1].upper() + translation[1:]  # a common word starting a sentence
    return translation


def is_proper(term: str) -> bool:
    """A term written with a capital is a proper noun: "Hatter" is not "a hatter"."""
    return any(ch.isupper() for ch in term)


# Characters that do not show: soft hyphen, zero-width space and joiners, word joiner, BOM. A
# name may carry them anywhere inside ("Ada\u00adQuill" from a hyphenating e-book).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RUN = f"[{INVISIBLE}]*"


def fold(text: str) -> str:
    """The form terms are compared in: compatibility-normalized ("ﬁ" is "fi"), without
    invisible characters, any run of white space one space (a line break inside a name),
    case-folded ("ß" is "ss"), and an i with or without its dot one letter, so "İZMİR" and
    "İzmir", "KIRIKKALE" and "Kırıkkale" meet."""
    text = unicodedata.normalize("NFKC", text).translate(dict.fromkeys(map(ord, INVISIBLE)))
    return " ".join(text.split()).casefold().replace("i\u0307", "i").replace("ı", "i")


def _compatible_with_origins(text: str) -> tuple[str, list[int]]:
    """NFKC of the text built character by character ("ﬁ" -> "fi"), case kept, with the source
    index of each character (one source character may become several)."""
    if text.isascii():
        return text, list(range(len(text)))
    pieces, origins = [], []
    for i, ch in enumerate(text):
        compatible = unicodedata.normalize("NFKC", ch)
        pieces.append(compatible)
        origins += [i] * len(compatible)
    return "".join(pieces), origins


def _spelled(term: str, letter) -> str:
    """A regex for the term letter by letter (`letter` gives each one's pattern), invisible
    characters allowed between letters and any white space, a line break too, between words."""
    between_words = f"[\\s{INVISIBLE}]+"
    return _INVISIBLE_RUN.join(between_words if ch.isspace() else letter(ch) for ch in term)


def _capital(ch: str) -> str:
    """A letter written in capitals; an "i" may be a dotted capital ("İZMİR")."""
    return "[Iİ]" if ch == "i" else re.escape(ch.upper())


def _forms(term: str) -> list[str]:
    """The regex alternatives a term matches: a proper noun as written and in capitals; a
    lowercase term in any case (and in full capitals, where "ß" is "SS")."""
    written, capitals = _spelled(term, re.escape), _spelled(term, _capital)
    if is_proper(term):
        return list(dict.fromkeys((written, capitals)))
    return [f"(?i:{written})", capitals]


def _drop_repeated_article(translation: str, before: str) -> str:
    """ "the Hatter" with Hatter -> "the hatter" must not read "the the hatter"."""
    if ARTICLE_BEFORE.search(before):
        return LEADING_ARTICLE.sub("", translation, count=1)
    return translation


class Translator:
    """Longest match first, on word boundaries, one fixed translation per term; a capitalised
    term only where it is capitalised (or in capitals), a lowercase term in any case. The case
    rule is part of the pattern, so a capitalised form that does not qualify ("Cheshire Cat"
    for "Cheshire cat") leaves the shorter terms inside it ("Cat") free to match. Matching is
    Unicode-aware: ligatures, "ß"/"SS", dotted "İ" and decomposed accents all match."""

    def __init__(self, dictionary: Mapping[str, str]):
        pairs = [
            (unicodedata.normalize("NFC", term.strip()), tr)
            for term, tr in dictionary.items()
            if term.strip()
        ]
        self.entries = {fold(term): (term, tr) for term, tr in pairs}
        # "Ada\u00adQuill": an invisible character may stand between a name's words
        self.spaceless = {key.replace(" ", ""): entry for key, entry in self.entries.items()}
        compatible = [(unicodedata.normalize("NFKC", term), term) for term, _ in pairs]
        by_length = sorted(compatible, key=lambda pair: len(pair[0]), reverse=True)
        alternatives = "|".join(f for form, _ in by_length for f in _forms(form)) or r"(?!x)x"
        self.pattern = re.compile(rf"(?<!\w)({alternatives}){_SUFFIX}(?!\w)")

    def _matches(self, text: str):
        """(start, end of the term, end with its suffix, term, translation) in source offsets."""
        compatible, origins = _compatible_with_origins(text)
        origins.append(len(text))
        for match in self.pattern.finditer(compatible):
            a, b, c = match.start(), match.end(1), match.end()
            if (a and origins[a - 1] == origins[a]) or origins[b - 1] == origins[b]:
                continue  # the match begins or ends inside one source character's expansion
            start, term_end, end = origins[a], origins[b - 1] + 1, origins[c - 1] + 1
            term, translation = self._entry(match.group(1))
            yield start, term_end, end, term, translation

    def _entry(self, matched: str) -> tuple[str, str]:
        key = fold(matched)
        return self.entries.get(key) or self.spaceless[key.replace(" ", "")]

    def translate(self, text: str) -> Translation:
        parts, replacements, seen = [], [], {}
        cursor = out_len = 0
        for start, term_end, end, term, translation in self._matches(text):
            generic = _drop_repeated_article(translation, text[max(0, start - 8) : start])
            new = _match_case(generic, text[start:term_end], not is_proper(term))
            new += text[term_end:end]  # the suffix as written
            parts.append(text[cursor:start])
            out_len += start - cursor
            occurrence = seen.get(term, 0)
            seen[term] = occurrence + 1
            replacements.append(
                Replacement(term, start, end, out_len, out_len + len(new), occurrence)
            )
            parts.append(new)
            out_len += len(new)
            cursor = end
        parts.append(text[cursor:])
        return Translation(text, "".join(parts), tuple(replacements))
