"""Offline generic translations for anchor terms: typed, consistent, never colliding with the
book's own terms and never a famous name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pipelines.anchors.usage import head_word
from pipelines.anchors.world import is_famous
from pipelines.whp.translate import Translator

# Gender-neutral first names and plain surnames: a person's name parts map word by word, so
# "Ada Quill" and "Quill" get the same surname.
FIRST_NAMES = (
    "Alex Sam Jordan Taylor Casey Morgan Riley Jamie Robin Drew Avery Quinn Rowan Sky Jesse "
    "Kit Lee Dana Reese Blair Emery Frankie Harper Jules Kai Logan Noel Parker Remy Sage"
).split()
SURNAMES = (
    "Miller Carter Baker Hughes Wood Morris Cooper Ward Turner Hill Moore Clark Lewis Young Allen "
    "King Wright Scott Green Adams Nelson Mitchell Roberts Phillips Evans Collins Stewart Morgan "
    "Reed Cook Bell Murphy Bailey Rivera Howard Gray James Watson Brooks Kelly Sanders Price"
).split()
# A character named by a title worn with "the" ("the Hatter", "the Duchess") becomes another
# title, so "the Hatter said" reads "the Baker said", never "the Taylor said".
CHARACTERS = (
    "the Baker|the Tailor|the Weaver|the Sailor|the Gardener|the Shepherd|the Carpenter|"
    "the Potter|the Fisher|the Merchant|the Teacher|the Farmer|the Clerk|the Porter|the Drummer|"
    "the Painter|the Cobbler|the Butcher|the Smith|the Glazier|the Mason|the Chemist"
).split("|")
ADJECTIVES = "old new far little great lower upper western eastern quiet second".split()
COLOURS = "grey white black brown red blue green golden".split()  # a whole book's dictionary
PLAIN = {
    "PLACE": "the market town|the river valley|the old port|the hill village|the northern city|"
    "the coastal town|the lake district|the mountain pass|the border town|the farmland|"
    "the capital|the island|the harbour town|the forest village|the southern plain",
    "ORG": "the guild|the council|the company|the society|the league|the brotherhood|"
    "the academy|the trading house|the union|the committee|the order|the circle",
    "OBJECT": "the old lamp|the silver box|the wooden staff|the brass key|the stone bowl|"
    "the leather book|the iron ring|the glass jar|the copper coin|the woven cloth",
    "EVENT": "the long winter|the great flood|the festival|the old war|the harvest fair|"
    "the summit|the trial|the crossing|the uprising|the treaty signing",
    "CONCEPT": "the old custom|the local craft|the family rule|the common belief|the old art|"
    "the trade secret|the village law|the local tradition",
    "OTHER": "the creature|the animal|the plant|the tool|the drink|the dish|the stone|"
    "the song|the game|the breed",
}


Clashes = Callable[[str], bool]


def _fresh(pool: list[str], used: set[str], clashes: Clashes) -> str:
    """The first candidate not used yet, holding none of the book's terms, not a famous name."""
    for candidate in _candidates(pool):
        if candidate.casefold() not in used and not clashes(candidate) and not is_famous(candidate):
            return candidate
    raise ValueError("no unused substitute left")  # thousands per label: a whole book uses ~100


def _candidates(pool: list[str]):
    """The pool, then plausible combinations when a large dictionary uses it up: "the old
    guild", then "the old grey guild" for a thing, "Alex Jordan" for a first name; never a
    numbered placeholder."""
    yield from pool
    if pool[0].startswith("the "):
        nouns = [c.removeprefix("the ") for c in pool]
        for adjective in ADJECTIVES:
            yield from (f"the {adjective} {n}" for n in nouns if adjective not in n.split())
        for adjective in ADJECTIVES:  # a whole book can use up the first combinations too
            for colour in COLOURS:
                yield from (f"the {adjective} {colour} {n}" for n in nouns
                            if adjective not in n.split())  # fmt: skip
    else:
        yield from (f"{a} {b}" for a in pool for b in SURNAMES if a != b)


def _person(term: str, word_map: dict[str, str], used: set[str], clashes: Clashes) -> str:
    words = term.split()
    out = []
    for i, word in enumerate(words):
        key = word.casefold()
        if key not in word_map:
            pool = FIRST_NAMES if i == 0 and len(words) > 1 or len(words) == 1 else SURNAMES
            word_map[key] = _fresh(list(pool), used, clashes)
            used.add(word_map[key].casefold())
        out.append(word_map[key])
    # "Jordan Baker", "Jesse James"; or parts that together make one of the book's names
    while len(out) > 1 and (is_famous(" ".join(out)) or clashes(" ".join(out))):
        out[-1] = word_map[words[-1].casefold()] = _fresh(SURNAMES, used, clashes)
        used.add(out[-1].casefold())
    return " ".join(out)


def offline_translations(
    terms: Mapping[str, str],
    keep: Mapping[str, str] | None = None,
    avoid: Iterable[str] = (),
    titled: Iterable[str] = (),
) -> dict[str, str]:
    """term -> generic substitute for every (term -> label); `keep` holds fixed translations;
    `titled` persons ("the Hatter") get a title, and a titled full name's head word ("Cat" of
    "Cheshire Cat", "Queen" of "Queen of Hearts") gets the full name's substitute."""
    keep, titled = dict(keep or {}), set(titled)
    clashes = _clash_check([*terms, *avoid])
    used = {v.casefold() for v in keep.values()}
    word_map: dict[str, str] = {}
    for term, translation in keep.items():  # reuse a person's fixed parts for their other forms
        if terms.get(term) == "PERSON" and len(term.split()) == len(translation.split()):
            word_map.update(zip(map(str.casefold, term.split()), translation.split(), strict=True))
    out: dict[str, str] = {}
    by_key = {t.casefold(): t for t in terms}
    # Multi-word names first, so "Ada Quill" fixes "Quill" before "Quill" comes on its own.
    for term in sorted(terms, key=lambda t: (-len(t.split()), t)):
        if term in out:
            continue
        if term in keep:
            out[term] = keep[term]
        elif terms[term] == "PERSON" and term not in titled:
            out[term] = _person(term, word_map, used, clashes)
        else:
            out[term] = _fresh(_pool(terms[term]), used, clashes)
            used.add(out[term].casefold())
        head = by_key.get(head_word(term).casefold(), term)
        if term in titled and head != term and terms[head] == "PERSON" and head not in keep:
            out.setdefault(head, out[term])
    return out


def _clash_check(book_terms: list[str]) -> Clashes:
    """Whether a candidate is one of the book's terms or holds one ("Sam Roberts" where the book
    names a "Sam"), found as publishing finds it, so publish never refuses what is made here."""
    keys = {t.casefold() for t in book_terms}
    finder = Translator({t: "" for t in book_terms if t.strip()})
    return lambda candidate: (
        candidate.casefold() in keys or bool(finder.translate(candidate).replacements)
    )


def _pool(label: str) -> list[str]:
    return CHARACTERS if label == "PERSON" else PLAIN.get(label, PLAIN["OTHER"]).split("|")
