"""How the text uses a term: a character who speaks, a name worn with "the" ("the Hatter")."""

from __future__ import annotations

import re
from collections.abc import Sequence

SPEECH_VERBS = (
    "said|says|replied|asked|cried|thought|whispered|shouted|answered|exclaimed|remarked|added|"
    "continued|began|repeated|interrupted|muttered|growled|screamed|sighed|called|roared|sobbed"
)
TITLED_SHARE = 0.5  # written after "the" at least this often: a title, not a first name


def _term(term: str) -> str:
    """The term as a regex: case-sensitive, whole words, an optional possessive."""
    return r"(?<![\w-])" + re.escape(term) + r"(?:['’]s)?(?![\w-])"


def speaks(term: str, texts: Sequence[str]) -> bool:
    """Whether the term is someone who talks: "said the Hatter", "Alice replied"."""
    before = re.compile(rf"\b(?:{SPEECH_VERBS}),? (?:the )?{_term(term)}")
    after = re.compile(rf"{_term(term)},? (?:{SPEECH_VERBS})\b")
    return any(before.search(t) or after.search(t) for t in texts)


def titled(term: str, texts: Sequence[str]) -> bool:
    """Whether the term is mostly written after "the" ("the Dormouse", not "Alice")."""
    pattern = re.compile(r"\b[Tt]he\s+" + r"(?=" + _term(term) + ")" + "|" + _term(term))
    uses = [m.group() for t in texts for m in pattern.finditer(t)]
    # each use with an article matches twice: the article (lookahead), then the term itself
    with_article = sum(1 for u in uses if u.lower().startswith("the"))
    return bool(uses) and with_article / (len(uses) - with_article or 1) >= TITLED_SHARE


def head_word(term: str) -> str:
    """The word a name is about: "Queen" of "Queen of Hearts", "Cat" of "Cheshire Cat"."""
    words = term.split()
    return words[0] if " of " in term else words[-1]
