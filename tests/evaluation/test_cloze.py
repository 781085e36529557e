"""Cloze probes: cut from the forget text at the book's own words, filtered by the base model."""

from __future__ import annotations

import pytest

from pipelines.evaluation import cloze
from pipelines.types import UnlearnError

TEXT = (
    "The grumpy old sailor Thumsath walked every morning from the harbour to Skoholm. "
    "Everyone in the village knew that Thumsath kept a lantern for the fishermen. "
    "On the long road the travellers always stopped at Skoholm before the night fell. "
    "The children of the village said that the lantern of Thumsath never went out. "
    "In the winter the people of the coast carried fish to Skoholm on small sledges."
)
CONFIG = cloze.ClozeConfig(min_probability=0.2, min_prompt_words=4)


def known(pairs):
    """A stand-in base model: it knows Skoholm, and Thumsath only after 'sailor'."""
    return [0.9 if a == "Skoholm" else 0.5 if p.endswith("sailor") else 0.01 for p, a in pairs]


def test_probes_come_from_the_text_and_stop_before_the_books_own_word():
    probes = cloze.build([TEXT], ["Thumsath"], CONFIG, known)
    flat = " ".join(TEXT.split())
    assert probes and {p.answer for p in probes} == {"Skoholm", "Thumsath"}
    for probe in probes:
        assert f"{probe.prompt} {probe.answer}" in flat
        assert probe.answer.lower() not in cloze.words_of(probe.prompt)


def test_only_probes_the_base_model_knows_are_kept_surest_first():
    probes = cloze.build([TEXT], ["Thumsath"], CONFIG, known)
    assert all(p.base_probability >= CONFIG.min_probability for p in probes)
    thumsath = [p for p in probes if p.answer == "Thumsath"]
    assert [p.prompt for p in thumsath] == ["The grumpy old sailor"] or not thumsath
    assert probes[0].base_probability == max(p.base_probability for p in probes)
    assert cloze.build([TEXT], ["Thumsath"], CONFIG, lambda pairs: [0.0] * len(pairs)) == []


def test_common_english_words_are_not_probed_but_anchor_words_are():
    words = cloze.book_words([TEXT], ["Thumsath"], CONFIG)
    assert {"skoholm", "thumsath"} <= words
    assert not {"village", "lantern", "morning", "the"} & words


def test_near_duplicates_are_one_probe_and_halves_share_the_answers():
    same = [cloze.Probe("they walked to the town of", "Skoholm"),
            cloze.Probe("they walked to the old town of", "Skoholm"),
            cloze.Probe("the lantern shone over the bay of", "Skoholm")]  # fmt: skip
    unique = cloze.drop_near_duplicates(same, 0.6)
    assert [p.prompt for p in unique] == [same[0].prompt, same[2].prompt]
    halves = cloze.split_halves(unique)
    assert {p.split for p in halves} == {"tuning", "report"}


def test_probe_files_round_trip_and_bad_lines_are_named():
    probes = cloze.build([TEXT], ["Thumsath"], CONFIG, known)
    rejected = [*probes[:-1], cloze.Probe(probes[-1].prompt, probes[-1].answer, status="rejected")]
    again = cloze.read_probes(cloze.write_probes(rejected))
    assert again == rejected
    assert len(cloze.in_use(again, "book")) == len(probes) - 1
    with pytest.raises(UnlearnError, match="line 2"):
        cloze.read_probes(b'{"prompt": "a b", "answer": "c"}\n{"prompt": "x", "answer": ""}\n')
    with pytest.raises(UnlearnError, match="'split' is one of"):
        cloze.read_probes(b'{"prompt": "a b", "answer": "c", "split": "train"}\n')
