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
    before = re.compile(rf"\b(?:{SPEECH_VERBS}),? (?:the )?$")
    after = re.compile(rf",? (?:{SPEECH_VERBS})\b")
    return any(
        before.search(text, max(0, use.start() - LOOK_BACK), use.start())
        or after.match(text, use.end())
        for text, use in _uses(term, texts)
    )


def titled(term: str, texts: Sequence[str]) -> bool:
    """Whether the term is mostly written after "the" ("the Dormouse", not "Alice")."""
    article = re.compile(r"\b[Tt]he\s+$")
    uses = with_article = 0
    for text, use in _uses(term, texts):
        uses += 1
        with_article += bool(article.search(text, max(0, use.start() - LOOK_BACK), use.start()))
    return bool(uses) and with_article / uses >= TITLED_SHARE


LOOK_BACK = 40  # characters before a use where its article or speech verb is looked for


def _uses(term: str, texts: Sequence[str]):
    """(text, match) for each use of the term. The plain string search finds the candidates and
    the regex only checks them: one full regex scan per term made a whole book's proposals take
    many minutes."""
    whole = re.compile(_term(term))
    for text in texts:
        at = text.find(term)
        while at != -1:
            use = whole.match(text, at)
            if use:
                yield text, use
            at = text.find(term, at + 1)


def head_word(term: str) -> str:
    """The word a name is about: "Queen" of "Queen of Hearts", "Cat" of "Cheshire Cat"."""
    words = term.split()
    return words[0] if " of " in term else words[-1]
