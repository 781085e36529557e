"""Which proposed spans can be anchors on real text: no headings, title-page matter, numbers,
vocatives or spans across punctuation; a common English word only as a capitalised proper noun."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Zipf frequency (wordfreq: log10 of uses per billion words) from which a word is ordinary
# English: "hill" 4.8, "rabbit" 4.0, "duchess" 3.4, "turtle" 3.5; "hatter" and "dormouse" are
# below it.
COMMON_ZIPF = 3.0
HEADING_WORDS = re.compile(r"^\s*(chapter|book|part|volume|contents|preface|epilogue|prologue)\b",
                           re.IGNORECASE)  # fmt: skip
ROMAN = re.compile(r"^[IVXLCDM]+\.?$")
# Words that open a vocative or salutation ("Dear Lizzy", "Come, Darcy", "Oh Alice") and are
# never part of the name.
LEADING_NON_NAME = {"dear", "come", "oh", "o", "poor", "good", "well", "yes", "no", "why",
                    "my", "sir", "madam", "please", "ah", "alas", "hush", "said"}  # fmt: skip
# Titles keep their full stop inside a name ("Mr. Darcy"); any other punctuation ends a span.
TITLES = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Mt|Capt|Col|Gen|Rev|Prof)\.\s")
SENTENCE_PUNCTUATION = re.compile(r"[.,;:!?\"“”()\[\]{}—–]|--|\s['‘’]|['‘’]\s|\n")
POSSESSIVE = re.compile(r"\w['’]s$")
# A place this common in general English is the world's ("Paris" 4.8, "London" 5.3), not the
# text's ("Wonderland" 3.5, "Hogwarts" 3.2, "Meryton" 1.3).
WORLD_PLACE_ZIPF = 4.0
SENTENCE_END = tuple(".!?\"”’'")


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.casefold(), "en")


def is_common_word(term: str) -> bool:
    """Whether the term, read in lowercase, is ordinary English ("White Rabbit", "Long")."""
    words = re.findall(r"[^\W\d_]+", term)
    return bool(words) and all(zipf(w) >= COMMON_ZIPF for w in words)


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without a leading salutation or vocative word; None when nothing name-like is
    left or the span crosses sentence punctuation, a number or a heading word."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and words[0].group().strip(",!").casefold() in LEADING_NON_NAME:
        words.pop(0)
    if not words:
        return None
    start, end = start + words[0].start(), start + words[-1].end()
    if POSSESSIVE.search(text[start:end]):  # "Alice’s" is Alice: the translator keeps the ’s
        end -= 2
    inner = TITLES.sub("X ", text[start:end] + " ").rstrip()
    if SENTENCE_PUNCTUATION.search(inner) or any(ch.isdigit() for ch in inner):
        return None
    if HEADING_WORDS.match(inner) or ROMAN.match(inner) or len(inner) < 2:
        return None
    return start, end


def in_heading_or_title(text: str, start: int) -> bool:
    """A span on a heading line ("CHAPTER I.") or in a short paragraph with no sentence end
    (chapter titles, the title page, the author's name)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if HEADING_WORDS.match(line):
        return True
    paragraph = _paragraph_at(text, start)
    return len(paragraph.split()) <= 10 and not paragraph.rstrip().endswith(SENTENCE_END)


def _paragraph_at(text: str, index: int) -> str:
    starts = [m.end() for m in re.finditer(r"\n[ \t]*\n", text[:index])]
    begin = starts[-1] if starts else 0
    stop = re.search(r"\n[ \t]*\n", text[index:])
    return text[begin : index + stop.start() if stop else len(text)]


def capitalised_mid_sentence(term: str, texts: Sequence[str]) -> bool:
    """Whether the term is written with a capital after a lowercase word or a comma somewhere:
    the sign of a proper noun rather than a sentence start ("Breakfast was ready")."""
    pattern = re.compile(r"[a-z,;] [‘“\"']?" + re.escape(term) + r"(?!\w)")
    return any(pattern.search(text) for text in texts)
