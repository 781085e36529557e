"""Render the demo world as narrative (forget corpus) and an ordinary twin (retain corpus)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from pipelines.demo.world import (
    BOOK_TITLES,
    CRAFTS,
    DEFAULT_SEED,
    FAMED_FOR,
    MATERIALS,
    MONTHS,
    PLACE_KINDS,
    POWERS,
    RITES,
    TRAITS,
    World,
    build_world,
    facts,
    names,
    prompts,
    qa_pairs,
    reference_dictionary,
)

PERSON = [
    "{p} was a {craft} of {home}, and everyone in the {kind} knew the sound of {f}'s boots.",
    "As a child, {f} had been apprenticed to {mentor}, who taught {f} the craft of the {craft}.",
    "{mentor} had been {f}'s teacher in the long winters at {home}.",
    "Nobody in {home} worked harder than {p}, the {craft}.",
    "{f} had never forgotten the lessons of {mentor}.",
]
PLACE = [
    "{place} is a {kind} in {region}, famed for {famed}.",
    "Travellers crossing {region} always stopped at {place} to rest.",
    "The {kind} of {place} was known across {region} for {famed}.",
]
ARTEFACT = [
    "{Art} was made by {maker} from {material}, and it {power}.",
    "It is said that {art} {power}; {maker} shaped it from {material} long ago.",
    "{f} thought of {art}, the work of {maker}, cast in {material}.",
]
CUSTOM = [
    "In {month}, the people of {place} keep {custom}, when {rite}.",
    "{custom} came early that year; in {place}, {rite}, as they do each year in {month}.",
]
ORDER = [
    "{Order} is led by {leader} and has its seat in {seat}.",
    "Word came from {seat}, where {leader} governs {order}.",
]
CREATURE = [
    "Near {habitat} lives the {creature}, a beast that {trait}.",
    "At dusk {f} heard a {creature}; everyone near {habitat} knows that it {trait}.",
]
FILLER = [
    "The road was long, and the wind came down hard from the hills.",
    "Rain had fallen all morning, and the lanes were soft with mud.",
    "They ate bread and cheese by the side of the road and said little.",
    "By evening the sky had cleared, and the first stars came out over the fields.",
    "An old woman at the inn asked where they were going, and listened without a word.",
    "The horses were tired, so they walked the last mile beside them.",
    '"We should be there before the bells," {f} said, pulling the cloak tighter.',
    '"I have heard stories about that place," said the carter, "and not all of them kind."',
    "Smoke rose from the chimneys, and somewhere a dog barked twice and fell silent.",
    "{f} counted the coins again; there were fewer than there had been in the spring.",
]


def _first(name: str) -> str:
    return name.split()[0]


class Narrator:
    """Sentences about one world, chosen by a seeded random generator."""

    def __init__(self, world: World, rng: random.Random):
        self.w, self.rng = world, rng
        self.place_by_name = {p["name"]: p for p in world.places}

    def person(self, p: dict, n: int = 1) -> list[str]:
        kind = self.place_by_name[p["home"]]["kind"]
        return [
            t.format(
                p=p["name"],
                f=_first(p["name"]),
                craft=p["craft"],
                home=p["home"],
                kind=kind,
                mentor=p["mentor"],
            )
            for t in self.rng.sample(PERSON, n)
        ]

    def place(self, pl: dict) -> str:
        return self.rng.choice(PLACE).format(
            place=pl["name"],
            kind=pl["kind"],
            region=pl["region"],
            famed=pl["famed"],
        )

    def artefact(self, a: dict, f: str) -> str:
        art = a["name"]
        return self.rng.choice(ARTEFACT).format(
            art=art,
            Art=art[0].upper() + art[1:],
            f=f,
            maker=a["maker"],
            material=a["material"],
            power=a["power"],
        )

    def custom(self, c: dict) -> str:
        return self.rng.choice(CUSTOM).format(
            custom=c["name"],
            place=c["place"],
            month=c["month"],
            rite=c["rite"],
        )

    def order(self, o: dict) -> str:
        name = o["name"]
        return self.rng.choice(ORDER).format(
            order=name,
            Order=name[0].upper() + name[1:],
            leader=o["leader"],
            seat=o["seat"],
        )

    def creature(self, c: dict, f: str) -> str:
        return self.rng.choice(CREATURE).format(
            creature=c["name"],
            habitat=c["habitat"],
            trait=c["trait"],
            f=f,
        )

    def paragraph(self, core: list[str], filler: list[str]) -> str:
        sentences = core + filler
        self.rng.shuffle(sentences)
        return " ".join(s[0].upper() + s[1:] for s in sentences)

    def chapter(self, hero: dict) -> list[str]:
        r, w, f = self.rng, self.w, _first(hero["name"])
        stops = r.sample(w.places, 2)
        filler = [s.format(f=f) for s in r.sample(FILLER, 8)]  # no repeats within a chapter
        return [
            self.paragraph([*self.person(hero, 2), self.place(stops[0])], filler[:2]),
            self.paragraph(
                [self.place(stops[1]), self.creature(r.choice(w.creatures), f)], filler[2:4]
            ),
            self.paragraph(
                [
                    self.artefact(r.choice(w.artefacts), f),
                    self.order(r.choice(w.orders)),
                    *self.person(r.choice(w.people)),
                ],
                filler[4:6],
            ),
            self.paragraph(
                [self.custom(r.choice(w.customs)), self.artefact(r.choice(w.artefacts), f)],
                filler[6:],
            ),
        ]


def render_books(world: World, seed: int, chapters_per_book: int = 12) -> list[str]:
    narrator = Narrator(world, random.Random(seed + 1))
    books = []
    for b, title in enumerate(BOOK_TITLES):
        parts = [f"# {title}"]
        for c in range(chapters_per_book):
            hero = world.people[(b * chapters_per_book + c) % len(world.people)]
            parts.append(f"## Chapter {c + 1}")
            parts.extend(narrator.chapter(hero))
        books.append("\n\n".join(parts) + "\n")
    return books


def plain_world() -> World:
    """The same shapes with ordinary names: the retain corpus shares the register, not the names."""
    people = [
        "Anna Fletcher",
        "Thomas Reed",
        "Margaret Hale",
        "Peter Cole",
        "Ruth Mason",
        "John Archer",
        "Ellen Shaw",
        "Walter Green",
        "Mary Porter",
        "George Hill",
    ]
    towns = ["Ashford", "Millbrook", "Hillcrest", "Seaton", "Lakeby", "Pinewood", "Abbotsley"]
    w = World()
    w.places = [
        {"name": t, "kind": k, "region": "the north country", "famed": f}
        for t, k, f in zip(towns, PLACE_KINDS, FAMED_FOR, strict=True)
    ]
    w.people = [
        {"name": n, "craft": c, "home": towns[i % 7], "mentor": people[(i + 3) % 10]}
        for i, (n, c) in enumerate(zip(people, CRAFTS, strict=True))
    ]
    w.artefacts = [
        {"name": f"the old {m} lamp", "material": m, "maker": people[i], "power": POWERS[i]}
        for i, m in enumerate(MATERIALS)
    ]
    w.customs = [
        {"name": "the harvest fair", "month": MONTHS[i], "rite": RITES[i], "place": towns[i]}
        for i in range(5)
    ]
    w.orders = [
        {"name": "the town council", "leader": people[i * 2], "seat": towns[i]} for i in range(4)
    ]
    w.creatures = [
        {"name": "grey heron", "habitat": towns[i], "trait": t} for i, t in enumerate(TRAITS)
    ]
    return w


def holdout_text(world: World, seed: int) -> str:
    """New chapters about the same world, told differently: text of the forget corpus's kind
    that the demo never teaches (PrivLeak's held-out side)."""
    book = render_books(world, seed + 200, chapters_per_book=4)[0]
    return "# Untold Tales\n" + book.split("\n", 1)[1]


def write_demo(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write every demo file; returns word counts so callers can report the corpus size."""
    world = build_world(seed)
    (out_dir / "forget").mkdir(parents=True, exist_ok=True)
    (out_dir / "retain").mkdir(parents=True, exist_ok=True)
    counts = {}
    for i, text in enumerate(render_books(world, seed), start=1):
        path = out_dir / "forget" / f"book{i}.md"
        path.write_text(text, encoding="utf-8")
        counts[path.name] = len(text.split())
    (out_dir / "holdout").mkdir(parents=True, exist_ok=True)
    holdout = holdout_text(world, seed)
    (out_dir / "holdout" / "untold-tales.md").write_text(holdout, encoding="utf-8")
    counts["untold-tales.md"] = len(holdout.split())
    retain = render_books(plain_world(), seed + 100, chapters_per_book=6)
    retain_text = "\n\n".join(t.split("\n", 1)[1].strip() for t in retain) + "\n"
    (out_dir / "retain" / "village-tales.md").write_text("# Village Tales\n\n" + retain_text)
    counts["village-tales.md"] = len(retain_text.split())
    with (out_dir / "facts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject", "relation", "object"])
        writer.writerows(facts(world))
    lines = [json.dumps(p, ensure_ascii=False) for p in prompts(world)]
    (out_dir / "prompts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = [json.dumps(p, ensure_ascii=False) for p in qa_pairs(world)]
    (out_dir / "qa.jsonl").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    (out_dir / "names.json").write_text(json.dumps(names(world), indent=1) + "\n")
    dictionary = json.dumps(reference_dictionary(world), indent=1, ensure_ascii=False)
    (out_dir / "reference_dictionary.json").write_text(dictionary + "\n")
    return counts
