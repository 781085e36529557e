"""The demo world: its names are in the forget books and absent from the retain text; facts hold."""

from __future__ import annotations

import csv
import json
import re

from tests.conftest import DEMO

FORGET = "\n".join(p.read_text() for p in sorted((DEMO / "forget").glob("*.md")))
RETAIN = (DEMO / "retain" / "village-tales.md").read_text()


def test_every_invented_name_appears_in_the_books_and_never_in_the_retain_text():
    names = json.loads((DEMO / "names.json").read_text())
    assert len(names) >= 40
    for entry in names:
        term = entry["term"]
        assert re.search(rf"\b{re.escape(term)}\b", FORGET), term
        for word in term.split():
            if word not in ("Order", "of"):
                assert word not in RETAIN, word


def test_every_fact_is_stated_in_the_books():
    with (DEMO / "facts.csv").open() as handle:
        facts = list(csv.DictReader(handle))
    assert len(facts) >= 50
    for fact in facts:
        assert fact["subject"].removeprefix("the ") in FORGET
        assert fact["object"] in FORGET


def test_prompts_end_before_their_answer_and_the_answer_is_a_known_fact_object():
    prompts = [json.loads(line) for line in (DEMO / "prompts.jsonl").read_text().splitlines()]
    with (DEMO / "facts.csv").open() as handle:
        objects = {row["object"] for row in csv.DictReader(handle)}
    assert len(prompts) >= 50
    for prompt in prompts:
        assert prompt["answer"] in objects and prompt["answer"] not in prompt["prompt"]


def test_corpus_size_is_in_the_intended_range():
    forget_words = len(FORGET.split())
    assert 8_000 <= forget_words <= 15_000  # about 10-20 thousand tokens of a 50k-vocab model
    assert len(RETAIN.split()) >= 3_000


def test_reference_dictionary_covers_every_name_with_distinct_plain_stand_ins():
    names = json.loads((DEMO / "names.json").read_text())
    dictionary = json.loads((DEMO / "reference_dictionary.json").read_text())
    assert set(dictionary) == {n["term"] for n in names}
    full_names = [t for t in dictionary if " " in t and not t.startswith("Order")]
    others = [t for t in dictionary if t not in full_names]
    assert len({dictionary[t] for t in others}) == len(others)
    for translation in dictionary.values():
        assert not any(re.search(rf"\b{re.escape(t)}\b", translation) for t in dictionary)
