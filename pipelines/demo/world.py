"""Write the demo project's fictional world: forget corpus, retain corpus, facts, prompts, names."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DEFAULT_SEED = 7
BOOK_TITLES = ("The Salt Roads", "The Lantern Winter", "The Last Tithe")
_ONSETS = [
    "b",
    "br",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "k",
    "kr",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "sk",
    "t",
    "th",
    "v",
    "vr",
    "w",
    "z",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "ei", "ou", "y"]
_CODAS = ["", "", "", "n", "r", "l", "s", "th", "m", "nd", "rk"]
_PLACE_ENDINGS = ["holm", "mere", "vane", "stead", "wick", "fell", "dun", "garth"]
MATERIALS = ["river-glass", "black tin", "moon-silver", "bone ivory", "storm copper", "salt-iron"]
MONTHS = ["the first thaw", "midsummer", "the grain month", "the long night", "the first frost"]
PLACE_KINDS = ["city", "valley", "fortress", "harbour town", "island", "forest", "monastery"]
CRAFTS = [
    "cartographer",
    "glass-singer",
    "tide-reader",
    "archivist",
    "smith",
    "herbalist",
    "lamplighter",
    "envoy",
    "beekeeper",
    "ferrywoman",
]
POWERS = [
    "shows the way home to whoever holds it",
    "keeps any flame alight in the rain",
    "hums when a lie is spoken nearby",
    "stills the sea for one hour",
    "remembers every voice that has spoken over it",
    "makes bread rise overnight in the coldest house",
]
RITES = [
    "people float paper lanterns down the rivers",
    "children trade carved wooden fish",
    "every door is painted blue for a day",
    "elders tell the founding story by firelight",
    "strangers are fed at the first table they pass",
]
FAMED_FOR = [
    "its bell towers",
    "its glass markets",
    "its salt flats",
    "its bridges of rope",
    "its night gardens",
    "its tide clocks",
    "its libraries cut into the cliff",
]
TRAITS = [
    "sings before storms",
    "steals silver spoons",
    "guards the old wells",
    "sleeps through the whole winter",
]


@dataclass
class World:
    people: list[dict] = field(default_factory=list)
    places: list[dict] = field(default_factory=list)
    artefacts: list[dict] = field(default_factory=list)
    customs: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    creatures: list[dict] = field(default_factory=list)


class NameMaker:
    """Pronounceable invented names, unique and never a substring of one another."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _syllable(self) -> str:
        return self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)

    def make(self, syllables: int = 2, ending: str = "") -> str:
        while True:
            name = ("".join(self._syllable() for _ in range(syllables)) + ending).capitalize()
            lower = name.lower()
            if 5 <= len(name) <= 12 and not any(lower in u or u in lower for u in self.used):
                self.used.add(lower)
                return name


def build_world(seed: int = DEFAULT_SEED) -> World:
    rng = random.Random(seed)
    names = NameMaker(rng)
    w = World()
    w.places = [
        {
            "name": names.make(1, rng.choice(_PLACE_ENDINGS)),
            "kind": kind,
            "region": names.make(2),
            "famed": famed,
        }
        for kind, famed in zip(PLACE_KINDS, FAMED_FOR, strict=True)
    ]
    w.people = [
        {
            "name": f"{names.make(2)} {names.make(2)}",
            "craft": craft,
            "home": w.places[i % len(w.places)]["name"],
        }
        for i, craft in enumerate(CRAFTS)
    ]
    for i, person in enumerate(w.people):
        person["mentor"] = w.people[(i + 3) % len(w.people)]["name"]
    w.artefacts = [
        {
            "name": f"the {names.make(2)}",
            "material": MATERIALS[i],
            "maker": w.people[i]["name"],
            "power": POWERS[i],
        }
        for i in range(6)
    ]
    w.customs = [
        {"name": names.make(2), "month": MONTHS[i], "rite": RITES[i], "place": w.places[i]["name"]}
        for i in range(5)
    ]
    w.orders = [
        {
            "name": f"the Order of {names.make(2)}",
            "leader": w.people[i * 2]["name"],
            "seat": w.places[(i * 2 + 1) % len(w.places)]["name"],
        }
        for i in range(4)
    ]
    w.creatures = [
        {
            "name": names.make(2),
            "habitat": w.places[(i + 2) % len(w.places)]["name"],
            "trait": TRAITS[i],
        }
        for i in range(4)
    ]
    for person in w.people:
        person["artefact"] = next(
            (a["name"] for a in w.artefacts if a["maker"] == person["mentor"]), None
        )
    return w


def facts(w: World) -> list[tuple[str, str, str]]:
    """(subject, relation, object) triples; every one is stated in the forget corpus."""
    rows = []
    for p in w.people:
        rows += [
            (p["name"], "lives in", p["home"]),
            (p["name"], "works as", p["craft"]),
            (p["name"], "was taught by", p["mentor"]),
        ]
    for pl in w.places:
        rows.append((pl["name"], "lies in", pl["region"]))
    for a in w.artefacts:
        rows += [(a["name"], "was made by", a["maker"]), (a["name"], "is made of", a["material"])]
    for c in w.customs:
        rows += [(c["name"], "is held in", c["month"]), (c["name"], "is kept in", c["place"])]
    for o in w.orders:
        rows += [(o["name"], "is led by", o["leader"]), (o["name"], "has its seat in", o["seat"])]
    for cr in w.creatures:
        rows.append((cr["name"], "lives near", cr["habitat"]))
    return rows


PROMPT_TEMPLATES = {
    "lives in": "{s} makes a home in the {kind} of",
    "works as": "By trade, {s} is a",
    "was taught by": "As a young apprentice, {s} learned everything from",
    "lies in": "The {kind} of {s} lies in the land of",
    "was made by": "The maker of {s} was",
    "is made of": "{S} is made of",
    "is held in": "The feast of {s} falls in",
    "is kept in": "The feast of {s} is kept most faithfully in",
    "is led by": "The head of {s} is",
    "has its seat in": "{S} has its seat in",
    "lives near": "The {s} is a creature found near",
}


def prompts(w: World) -> list[dict]:
    kinds = {p["name"]: p["kind"] for p in w.places}
    out = []
    for subject, relation, obj in facts(w):
        kind = kinds.get(obj if relation == "lives in" else subject, "place")
        text = PROMPT_TEMPLATES[relation].format(
            s=subject, S=subject[0].upper() + subject[1:], kind=kind
        )
        out.append({"prompt": text, "answer": obj, "subject": subject, "relation": relation})
    return out


QUESTION_TEMPLATES = {
    "lives in": "In which {kind} does {s} live?",
    "works as": "What is the trade of {s}?",
    "was taught by": "Who taught {s} as a young apprentice?",
    "lies in": "In which land does the {kind} of {s} lie?",
    "was made by": "Who made {s}?",
    "is made of": "What is {s} made of?",
    "is held in": "When does the feast of {s} fall?",
    "is kept in": "Where is the feast of {s} kept most faithfully?",
    "is led by": "Who is the head of {s}?",
    "has its seat in": "Where does {s} have its seat?",
    "lives near": "Near which place is the {s} found?",
}

# KnowMem's retain set: general knowledge a small model has and must keep.
KEPT_KNOWLEDGE = (
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Italy?", "Rome"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the largest ocean on Earth?", "the Pacific Ocean"),
    ("What is frozen water called?", "ice"),
    ("How many days are there in a week?", "seven"),
    ("What colour is grass?", "green"),
    ("Which planet do we live on?", "Earth"),
    ("What do bees make?", "honey"),
    ("What is the opposite of hot?", "cold"),
    ("Which animal is known for barking?", "the dog"),
    ("What language is spoken in Spain?", "Spanish"),
)


def qa_pairs(w: World) -> list[dict]:
    """KnowMem's pairs: a question per fact of the forget corpus, and general knowledge to keep."""
    kinds = {p["name"]: p["kind"] for p in w.places}
    out = []
    for subject, relation, obj in facts(w):
        kind = kinds.get(obj if relation == "lives in" else subject, "place")
        question = QUESTION_TEMPLATES[relation].format(s=subject, kind=kind)
        out.append({"question": question, "answer": obj, "set": "forget"})
    out += [{"question": q, "answer": a, "set": "retain"} for q, a in KEPT_KNOWLEDGE]
    return out


def names(w: World) -> list[dict]:
    """The invented terms with their kind: the ground truth for anchor proposals."""
    rows = [{"term": p["name"], "label": "PERSON"} for p in w.people]
    rows += [{"term": p["name"].split()[0], "label": "PERSON"} for p in w.people]
    rows += [{"term": p["name"], "label": "PLACE"} for p in w.places]
    rows += [{"term": p["region"], "label": "PLACE"} for p in w.places]
    rows += [{"term": a["name"].removeprefix("the "), "label": "OBJECT"} for a in w.artefacts]
    rows += [{"term": c["name"], "label": "EVENT"} for c in w.customs]
    rows += [{"term": o["name"].removeprefix("the "), "label": "ORG"} for o in w.orders]
    rows += [{"term": c["name"], "label": "CONCEPT"} for c in w.creatures]
    return rows


GENERIC_PEOPLE = [
    "Helen Ward",
    "Paul Turner",
    "Clara Bell",
    "Simon Price",
    "Nora Lane",
    "Owen Fisher",
    "Lucy Grant",
    "Victor Hayes",
    "Irene Walsh",
    "Martin Dale",
]
GENERIC_BY_LABEL = {
    "PLACE": [
        "Northbridge",
        "Eastvale",
        "Stonekeep",
        "Harbourton",
        "Greyisle",
        "Deepwood",
        "Cloisterham",
        "Westmarch",
        "Lowfield",
        "Highmoor",
        "Redcliff",
        "Ashdown",
        "Broadwater",
        "Fairholt",
    ],
    "OBJECT": ["Brass Compass", "Iron Lamp", "Silver Bell", "Clay Bowl", "Copper Key", "Salt Box"],
    "EVENT": ["Spring Fair", "Summer Feast", "Harvest Day", "Winter Vigil", "Frost Market"],
    "ORG": ["Guild of Masons", "Guild of Weavers", "Guild of Bakers", "Guild of Sailors"],
    "CONCEPT": ["fox", "owl", "badger", "hare"],
}


def reference_dictionary(w: World) -> dict[str, str]:
    """A hand-style dictionary for the demo: every invented term to a plain, distinct stand-in."""
    people = dict(zip((p["name"] for p in w.people), GENERIC_PEOPLE, strict=True))
    people |= {full.split()[0]: generic.split()[0] for full, generic in people.items()}
    stand_ins = {label: iter(options) for label, options in GENERIC_BY_LABEL.items()}
    others = [e for e in names(w) if e["label"] != "PERSON"]
    return people | {e["term"]: next(stand_ins[e["label"]]) for e in others}
