"""Translation: longest match, word boundaries, case, possessives, and an exact offset map."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.whp.translate import Translator

DICTIONARY = {
    "Hogwarts": "Mystic Academy",
    "Harry": "Jon",
    "Harry Potter": "Jon Smith",
    "Quidditch": "Skyball",
}


def test_longest_match_first_and_one_translation_per_term():
    t = Translator(DICTIONARY).translate("Harry Potter met Harry at Hogwarts.")
    assert t.text == "Jon Smith met Jon at Mystic Academy."
    assert [r.term for r in t.replacements] == ["Harry Potter", "Harry", "Hogwarts"]


def test_word_boundaries_capitals_possessives_plurals():
    text = "HOGWARTS and Hogwarts; Harry's broom, the Harrys, Harrying, Quidditch’s rules."
    t = Translator(DICTIONARY).translate(text)
    assert t.text == (
        "MYSTIC ACADEMY and Mystic Academy; Jon's broom, the Jons, Harrying, Skyball’s rules."
    )


# Real sentences (Pride and Prejudice, Alice's Adventures in Wonderland) with the anchors whose
# translation rewrote ordinary English before case mattered.
REAL = {
    "Long": "Rowan", "Hill": "the union", "Pride": "the wooden staff", "Hatter": "the hatmaker",
    "White Rabbit": "the grey hare", "Queen": "the duchess of Lorn", "hookah": "pipe",
}  # fmt: skip


def test_a_capitalised_anchor_leaves_the_common_word_alone():
    t = Translator(REAL).translate("A long walk up the hill; his pride was hurt.")
    assert t.text == "A long walk up the hill; his pride was hurt." and not t.replacements


def test_a_proper_noun_is_replaced_where_capitalised_and_in_capitals_with_possessives():
    text = "Mrs. Long called. THE HATTER'S tea; the Hatter’s watch; a hatter by trade."
    t = Translator(REAL).translate(text)
    assert (
        t.text == "Mrs. Rowan called. THE HATMAKER'S tea; the hatmaker’s watch; a hatter by trade."
    )


def test_a_lowercase_anchor_matches_any_case():
    t = Translator(REAL).translate("The hookah. Hookah smoke. HOOKAH!")
    assert t.text == "The pipe. Pipe smoke. PIPE!"


def test_unicode_terms_match_their_case_and_compatibility_forms_with_exact_offsets():
    dictionary = {
        "Straße": "the Road",
        "İzmir": "the Port",
        "fire-drake": "beast",
        "Zoe\u0308": "Ann",
    }  # fmt: skip  (the last written decomposed)
    text = "Die Straße, die STRASSE, eine straße; İzmir and İZMİR; a ﬁre-drake; Zoë said."
    t = Translator(dictionary).translate(text)
    assert t.text == (
        "Die the Road, die THE ROAD, eine straße; the Port and THE PORT; a beast; Ann said."
    )
    for r in t.replacements:  # each replacement covers exactly the source characters it read
        assert t.to_translated(r.src_end) == r.dst_end or r.src_end == len(text)
    assert [text[r.src_start : r.src_end] for r in t.replacements] == [
        "Straße", "STRASSE", "İzmir", "İZMİR", "ﬁre-drake", "Zoë",
    ]  # fmt: skip


def test_a_capitalised_form_that_does_not_qualify_leaves_the_terms_inside_it_free():
    # the real book writes "Cheshire Cat" where the dictionary has "Cheshire cat" and "Cat":
    # the longer term does not match that capitalisation, so "Cat" must still be replaced
    t = Translator({"Cheshire cat": "the Tailor", "Cat": "the Tailor"}).translate(
        "seeing the Cheshire Cat; the Cheshire cat grinned"
    )
    assert t.text == "seeing the Cheshire the Tailor; the Tailor grinned"


def test_no_doubled_article_after_an_article_or_determiner():
    text = "the White Rabbit ran; a Queen came; his Hatter; Hill said; went up to Hill."
    t = Translator(REAL).translate(text)
    assert t.text == (
        "the grey hare ran; a duchess of Lorn came; his hatmaker; the union said; "
        "went up to the union."
    )


def test_inserted_text_is_never_translated_again():
    t = Translator({"Jon": "Harry", "Harry": "Jon"}).translate("Harry and Jon")
    assert t.text == "Jon and Harry"


def test_occurrences_are_counted_per_term():
    t = Translator(DICTIONARY).translate("Harry, Hogwarts, Harry, HARRY, harry.")
    assert [(r.term, r.occurrence) for r in t.replacements] == [
        ("Harry", 0),
        ("Hogwarts", 0),
        ("Harry", 1),
        ("Harry", 2),
    ]


def test_offset_map_both_ways_and_boundaries():
    t = Translator(DICTIONARY).translate("Go to Hogwarts now")
    r = t.replacements[0]
    assert t.to_translated(r.src_start) is None and t.to_source(r.dst_start) is None
    assert t.text[t.to_translated(0)] == "G"
    assert t.to_translated(len("Go to Hogwarts ")) == len("Go to Mystic Academy ")
    assert t.boundary_to_translated(r.src_end) == r.dst_end
    assert t.boundary_to_translated(r.src_start + 2) is None
    assert t.boundary_to_translated(len(t.source)) == len(t.text)


words = st.sampled_from(
    ["Harry", "Potter", "Hogwarts", "hogwarts's", "the", "cat", "é", "🦄", "Quidditch", "Harrying"]
)
separators = st.sampled_from([" ", ", ", ". ", "\n", "'", "-"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(words, separators), max_size=30))
def test_every_character_outside_replaced_spans_maps_to_the_same_character(pieces):
    text = "".join(w + s for w, s in pieces)
    t = Translator(DICTIONARY).translate(text)
    for i, ch in enumerate(text):
        j = t.to_translated(i)
        if j is None:
            assert any(r.src_start <= i < r.src_end for r in t.replacements)
        else:
            assert t.text[j] == ch and t.to_source(j) == i
    inserted = sum(r.dst_end - r.dst_start for r in t.replacements)
    removed = sum(r.src_end - r.src_start for r in t.replacements)
    assert len(t.text) == len(text) - removed + inserted


def test_names_broken_by_invisible_characters_or_a_line_break_are_still_replaced():
    t = Translator({"Ada Quill": "Jo Smith", "hatter": "baker"})
    text = "Ada\nQuill met A\u00adda Quill, Ada\u00adQuill and Ada\u200b Quill; the hat\u00adter."
    out = t.translate(text)
    assert out.text == "Jo Smith met Jo Smith, Jo Smith and Jo Smith; the baker."
    assert [r.src_start for r in out.replacements][:2] == [0, text.index("A\u00adda")]


def test_a_dotless_i_matches_in_capitals_without_a_crash():
    t = Translator({"Kırıkkale": "the town"})
    assert t.translate("KIRIKKALE and Kırıkkale").text == "THE TOWN and the town"
