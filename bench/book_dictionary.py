"""The offline anchor dictionary on a real book, as propose, accept-all and publish make it:
conflicts left by accept-all, precision and recall against a gold list, and how many
ordinary-word occurrences its translation rewrites, case-aware against case-blind.

    .venv/bin/python -m bench.book_dictionary --book ../shared/data/books/alice.txt \
        --chapters 6-7 --gold bench/books/alice/gold_anchors_ch6-7.json

Last line: JSON with terms, conflicts_after_accept_all, precision, recall, rewrites
(case-aware), rewrites_case_blind, ordinary_rewrites (occurrences replaced where the text does
not name the anchor), junk, recall_repeated (gold names used three times or more), type_errors,
famous_substitutes, world_flagged (proposed, flagged as the world's, left to people) and missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from pipelines.anchors import dictionary, world
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors.world import uses
from pipelines.demo.book import RETAIN_TEXT, book_project, pick_chapters
from pipelines.demo.run import DemoConfig
from pipelines.store.anchors import proposals_by_chunk
from pipelines.whp.translate import Translator

REPEATED = 3  # a gold name used this often, capitalised, must never be missed


def published_dictionary(
    book: Path, text: str, chapters: str
) -> tuple[dict[str, dict], int, list[str]]:
    """What `anchors propose` (default sources), `accept-all` and `publish` give, in a scratch
    store: term -> entry, how many terms were in conflict before publishing, and the proposed
    terms flagged as world knowledge (left to people, so not accepted)."""
    os.environ["UNLEARN_HOME"] = tempfile.mkdtemp(prefix="book-dictionary-")
    from pipelines.bootstrap import cli_session

    store, actor = cli_session()
    project = book_project(store, actor, DemoConfig(), book, text, RETAIN_TEXT, chapters)
    anchor_project.propose_project(store, actor, project, anchors.ProposeConfig())
    dictionary.accept_all(store, actor, project)
    flagged = sorted({s["text"] for spans in proposals_by_chunk(store, project.id).values()
                      for s in spans if s["world"]})  # fmt: skip
    in_conflict = len(dictionary.conflicts(dictionary.consolidate(store, project)))
    if in_conflict:
        return {}, in_conflict, flagged
    version = dictionary.publish(store, actor, project)
    entries = dictionary.read_version(version.path)["terms"]
    return {e["term"]: e for e in entries}, 0, flagged


def case_blind_rewrites(text: str, terms) -> int:
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return len(re.findall(rf"(?<!\w)(?:{pattern})(?!\w)", text, re.IGNORECASE))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", required=True)
    parser.add_argument("--chapters", default="6-7")
    parser.add_argument("--gold", default="", help="a JSON list of the chapters' own terms, or "
                        '{"required": {term: type}, "junk": [terms]}')  # fmt: skip
    args = parser.parse_args()
    text = pick_chapters(Path(args.book).read_text(encoding="utf-8"), args.chapters)
    given = json.loads(Path(args.gold).read_text()) if args.gold else []
    required = given["required"] if isinstance(given, dict) else dict.fromkeys(given)
    junk_list = {j.casefold() for j in given.get("junk", [])} if isinstance(given, dict) else set()
    gold = {g.casefold() for g in required}
    gold_present = {g for g in gold if g in text.casefold()}
    repeated = {g.casefold() for g in required if uses(g, text)[0] >= REPEATED}
    entries, in_conflict, flagged = published_dictionary(Path(args.book), text, args.chapters)
    terms = {term: e["translation"] for term, e in entries.items()}
    found = {t.casefold() for t in terms}
    translation = Translator(terms).translate(text)
    covered = found | rewritten(gold_present, text, translation.replacements)
    ordinary = [r for r in translation.replacements if not text[r.src_start].isupper()]
    for term, e in sorted(entries.items()):
        gold_mark = ("gold" if term.casefold() in gold
                     else "JUNK" if term.casefold() in junk_list else "NOT GOLD")  # fmt: skip
        print(f"{term:24} {e['label']:8} -> {e['translation']:22} {gold_mark}")
    print(json.dumps({
        "terms": len(terms),
        "conflicts_after_accept_all": in_conflict,
        "precision": round(len(found & gold) / max(1, len(found)), 3),
        "recall": round(len(covered & gold_present) / max(1, len(gold_present)), 3),
        "rewrites": len(translation.replacements),
        "rewrites_case_blind": case_blind_rewrites(text, terms),
        "ordinary_rewrites": len(ordinary),
        "junk": sorted(t for t in terms if t.casefold() in junk_list),
        "recall_repeated": round(len(covered & repeated) / max(1, len(repeated)), 3),
        "type_errors": type_errors(entries, required),
        "famous_substitutes": sorted(e["translation"] for e in entries.values()
                                     if world.is_famous(e["translation"])),  # fmt: skip
        "world_flagged": flagged,
        "missed": sorted(g for g in required if g.casefold() in gold_present - covered),
    }))  # fmt: skip


def rewritten(gold: set[str], text: str, replacements) -> set[str]:
    """Gold names the translation rewrites everywhere the text uses them, inside a longer term
    ("Hare" where the text only ever writes "March Hare")."""
    done = set()
    for name in gold:
        places = [m.span() for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text,
                                                re.IGNORECASE)]  # fmt: skip
        if places and all(any(r.src_start <= a and b <= r.src_end for r in replacements)
                          for a, b in places):  # fmt: skip
            done.add(name)
    return done


TYPES = {"PERSON": "person", "PLACE": "place", "OBJECT": "object"}


def type_errors(entries: dict[str, dict], required: dict) -> list[str]:
    """Gold terms published with another type than the gold list gives them."""
    wanted = {term.casefold(): kind for term, kind in required.items() if kind}
    errors = []
    for term, e in entries.items():
        kind = wanted.get(term.casefold())
        if kind and TYPES.get(e["label"], e["label"].lower()) != kind:
            errors.append(f"{term}: {e['label']} (gold {kind})")
    return sorted(errors)


if __name__ == "__main__":
    main()
