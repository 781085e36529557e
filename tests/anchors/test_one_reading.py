"""One label and one translation per term across a project: characters who speak are persons,
titled characters get titles, accept-all never makes a conflict, settlements are followed."""

from __future__ import annotations

from pipelines.anchors import dictionary
from pipelines.anchors import propose as anchors
from pipelines.anchors.hygiene import trim_span
from pipelines.anchors.substitutes import CHARACTERS, offline_translations
from pipelines.anchors.usage import head_word, speaks, titled
from pipelines.store.anchors import forget_chunks, replace_proposals
from tests.anchors.test_anchors import make_project

# Sentences written for these tests, in the manner of a Victorian children's novel.
TEA = [
    "“More milk,” said the Hatter, and the Dormouse went on sleeping. Nell looked at the "
    "Hatter’s watch. “It is always six,” the Hatter replied.",
    "The Dormouse was asleep again. “Nell,” said the Duchess, “a Cheshire cat can grin.” "
    "The Cheshire Cat only smiled, and the Cat vanished. Nell answered nothing.",
]


def spans(chunk: int, text: str, label: str, translation: str = "", source="ner") -> list:
    found = anchors.occurrences(TEA[chunk], text)
    return [anchors.Span(chunk, a, b, text, label, 0.6, source, translation) for a, b in found]


def test_who_speaks_and_who_wears_a_title():
    assert speaks("Hatter", TEA) and speaks("Nell", TEA) and speaks("Duchess", TEA)
    assert not speaks("Dormouse", TEA)
    assert titled("Hatter", TEA) and titled("Dormouse", TEA) and not titled("Nell", TEA)
    assert head_word("Queen of Hearts") == "Queen" and head_word("Cheshire Cat") == "Cat"
    assert not titled("Hat", TEA) and not speaks("Hat", TEA)  # inside "Hatter" is no use
    assert not titled("The Dormouse", TEA)  # its own "The" is not an article before it


def test_a_term_gets_one_label_and_translation_in_every_chunk():
    every = [
        *spans(0, "Hatter", "ORG"),  # spaCy's type errors: a character as a company
        *spans(0, "Dormouse", "ORG"),
        *spans(1, "Dormouse", "PERSON"),
        *spans(1, "Dormouse", "PERSON", source="stats"),
        *spans(0, "Nell", "PLACE"),
        *spans(1, "Nell", "PERSON"),
        *spans(1, "Cheshire cat", "OBJECT"),
        *spans(1, "Cheshire Cat", "OBJECT"),
        *spans(1, "Cat", "PERSON"),
    ]
    readings = anchors.one_reading_per_term(every, TEA, {}, {})
    pairs = {key: (r.label, r.translation) for key, r in readings.items()}
    assert pairs["hatter"][0] == "PERSON"  # he speaks
    assert readings["hatter"].reason == "speaks in the text"
    assert pairs["dormouse"][0] == "PERSON"  # the majority of its typed labels
    assert pairs["hatter"][1] in CHARACTERS and pairs["dormouse"][1] in CHARACTERS
    assert pairs["nell"][0] == "PERSON" and pairs["nell"][1] not in CHARACTERS
    # the full name and its head read the same: "the Cheshire Cat" and "the Cat" are one person
    assert pairs["cheshire cat"] == pairs["cat"] and pairs["cat"][0] == "PERSON"
    assert len({p[1] for p in pairs.values()} - {pairs["cat"][1]}) == 3  # no collisions


def test_settlements_come_first_and_a_rejected_term_is_not_proposed_again():
    every = [*spans(0, "Hatter", "ORG"), *spans(0, "Nell", "PERSON")]
    settled = {
        "hatter": {"decision": "accept", "label": "PERSON", "translation": "the Milliner"},
        "nell": {"decision": "reject", "label": "", "translation": ""},
    }
    readings = anchors.one_reading_per_term(every, TEA, {"Hatter": "the Potter"}, settled)
    hatter = readings["hatter"]
    assert (hatter.label, hatter.translation) == ("PERSON", "the Milliner")
    assert readings["nell"] is None


def test_titled_persons_get_titles_and_first_names_stay_names():
    table = offline_translations(
        {"Queen of Hearts": "PERSON", "Queen": "PERSON", "Nell": "PERSON", "Hatter": "PERSON"},
        titled={"Queen of Hearts", "Hatter"},
    )
    assert table["Queen"] == table["Queen of Hearts"] and table["Queen"] in CHARACTERS
    assert table["Hatter"] in CHARACTERS and table["Hatter"] != table["Queen"]
    assert table["Nell"] not in CHARACTERS and not any(ch.isdigit() for ch in table["Nell"])


def test_world_knowledge_and_possessives():
    assert anchors.is_general_knowledge("LANGUAGE", "CONCEPT", "English")
    assert anchors.is_general_knowledge("GPE", "PLACE", "Paris")
    assert not anchors.is_general_knowledge("GPE", "PLACE", "Wonderland")
    assert not anchors.is_general_knowledge("GPE", "PLACE", "Meryton")
    text = "They looked at Nell’s hat."
    start = text.index("Nell")
    assert text[slice(*trim_span(text, start, start + 6))] == "Nell"


def test_accept_all_makes_no_conflict_follows_settlements_and_keeps_hand_edits(store, admin):
    project = make_project(store, admin)
    chunks = [c for c in forget_chunks(store, project.id) if "Thumsath" in c.text][:3]
    assert len(chunks) >= 2

    def proposal(chunk, label, translation):
        a = chunk.text.index("Thumsath")
        row = {"start": a, "end": a + 8, "text": "Thumsath", "label": label, "score": 0.6}
        return {"chunk_id": chunk.id, "translation": translation, **row}

    # proposers disagreed chunk by chunk (as separate proposal runs can)
    rows = [proposal(chunks[0], "PERSON", "Helen")]
    rows += [proposal(c, "ORG", "the guild") for c in chunks[1:]]
    replace_proposals(store, admin, project.id, "ner", rows)
    dictionary.accept_all(store, admin, project)
    terms = dictionary.consolidate(store, project)
    assert not dictionary.conflicts(terms)
    majority = ("ORG", "the guild") if len(chunks) > 2 else ("PERSON", "Helen")
    assert (terms["thumsath"].label, terms["thumsath"].translation) == majority
    assert dictionary.publish(store, admin, project).n_terms == 1

    # a reviewer settles the term; a later accept-all follows the settlement everywhere
    dictionary.settle(store, admin, project, "Thumsath", "accept", "Marta", "PERSON")
    # ...and the chunk the researcher edited by hand keeps the edit
    own = [{**proposal(chunks[0], "PERSON", "Marta")}]
    dictionary.submit_chunk(store, admin, project, chunks[0].id, chunks[0].text, own)
    dictionary.accept_all(store, admin, project)
    by_chunk = dictionary.latest_by_annotator(store, project)
    assert by_chunk[chunks[0].id][admin.username].get("origin") is None
    for chunk in chunks[1:]:
        (span,) = by_chunk[chunk.id][admin.username]["spans"]
        assert (span["label"], span["translation"]) == ("PERSON", "Marta")
    assert not dictionary.conflicts(dictionary.consolidate(store, project))
