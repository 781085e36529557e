"""The book's own names against the world's: titles, allusions, real places, groups, the
calendar; types from place heads and inn signs; longer names; substitutes that are never famous;
accept-all leaves world knowledge to people."""

from __future__ import annotations

from pipelines.anchors import dictionary, world
from pipelines.anchors import propose as anchors
from pipelines.anchors.queue import terms_of
from pipelines.anchors.substitutes import offline_translations
from pipelines.store.anchors import forget_chunks, proposals_by_chunk, replace_proposals
from tests.anchors.test_anchors import make_project

# Written for these tests, in the manner of a whaling novel's opening chapters.
HARBOUR = (
    "I stopped at the sign of 'The Gannet' and read the board of the Mizzen Inn. "
    "The Captain was out. Like Jonah, I went down to the quay, and thought of Iceland and the "
    "Stoics. Call it a dreamy Sabbath. Queequeg sat by the fire; Queequeg smoked; I watched "
    "Queequeg. Death, said the preacher, comes for all; death comes. Tobiah Wrenn came in. "
    '"Wrenn!" cried the mate. The Duchess came in; the Duchess sat; the Duchess slept. '
    "We passed the Mizzen Inn and the Mizzen Inn again, and the Mizzen-Inn's lamp, and a "
    "Frog-Footman opened the door for the Footman."
)


def reason(form: str, label: str = "OTHER") -> str:
    return world.world_reason(form, label, HARBOUR, speaks=False,
                              titled=form == "Duchess")  # fmt: skip


def test_the_world_names_are_told_from_the_book_own():
    assert reason("Captain") == "a title or form of address"
    assert reason("Duchess", "PERSON") == ""  # a title the book wears as a character's name
    assert "famous" in reason("Jonah", "PERSON")
    assert reason("Iceland", "PLACE") == "a real place"
    assert reason("Stoics") == "a group of people or things named in passing"
    assert reason("Sabbath", "PERSON") == "a day, month or feast of the calendar"
    assert "lowercase" in reason("Death", "PERSON")
    assert reason("Queequeg", "PERSON") == "" and reason("Mizzen Inn", "PLACE") == ""
    # a character who speaks is the book's, whatever list the name is on
    assert world.world_reason("Captain", "PERSON", HARBOUR, speaks=True, titled=False) == ""


def test_types_follow_place_heads_inn_signs_speech_and_made_up_names():
    assert world.typed("Mizzen Inn", "OBJECT", False) == ("PLACE", "“Inn” names a place")
    assert world.typed("Gannet", "OBJECT", False, HARBOUR)[0] == "PLACE"
    assert world.typed("Wrenn", "PLACE", True) == ("PERSON", "speaks in the text")
    assert world.typed("Queequeg", "OTHER", False)[0] == "PERSON"
    assert world.typed("Harbour", "OTHER", False)[0] == "OTHER"  # an English word stays untyped


def test_a_name_the_text_repeats_is_proposed_and_longer_forms_join_it():
    chunks = [anchors.ChunkText(0, HARBOUR)]
    assert "Mizzen Inn" in anchors.repeated_names([HARBOUR], 3, {"the"})
    mizzen = anchors.Span(0, HARBOUR.index("Mizzen"), HARBOUR.index("Mizzen") + 6, "Mizzen",
                          "OTHER", 0.8, "stats")  # fmt: skip
    footman = anchors.Span(0, HARBOUR.rindex("Footman"), len(HARBOUR) - 1, "Footman", "PERSON",
                           0.6, "ner")  # fmt: skip
    longer = {(s.text, s.label) for s in anchors.longer_names([mizzen, footman], chunks)}
    assert {("Mizzen Inn", "PLACE"), ("Mizzen-Inn", "PLACE"), ("Frog-Footman", "PERSON")} <= longer
    full = anchors.Span(0, HARBOUR.index("Tobiah"), HARBOUR.index("Tobiah") + 12, "Tobiah Wrenn",
                        "PERSON", 0.6, "ner")  # fmt: skip
    (part,) = anchors.name_parts([full], chunks)
    assert part.text == "Wrenn" and HARBOUR[part.start : part.end] == "Wrenn"


def test_the_missing_name_of_a_list_of_three_is_proposed_like_the_other_two():
    text = "Their names were Elsie, Lacie, and Tillie, and they lived in a well."
    chunks = [anchors.ChunkText(0, text)]
    found = [anchors.Span(0, text.index(w), text.index(w) + len(w), w, "PERSON", 0.6, "ner")
             for w in ("Lacie", "Tillie")]  # fmt: skip
    (elsie,) = anchors.listed_names(found, chunks)
    assert (elsie.text, elsie.label, elsie.source) == ("Elsie", "PERSON", "ner")
    assert anchors.listed_names(found[:1], chunks) == []  # one of three known: no guess


def test_substitutes_are_never_famous_names():
    # the third two-word person would be "Jordan Baker", a famous fictional character
    table = offline_translations({"Ada Quill": "PERSON", "Bo Rook": "PERSON", "Cy Tate": "PERSON"})
    assert table["Ada Quill"] == "Alex Miller" and table["Bo Rook"] == "Sam Carter"
    assert table["Cy Tate"].startswith("Jordan ") and table["Cy Tate"] != "Jordan Baker"
    assert not any(world.is_famous(t) for t in table.values())
    assert world.is_famous("Jordan Baker") and world.is_famous("jonah")


def test_a_whole_books_dictionary_never_runs_out_of_distinct_substitutes():
    # the whole of Moby-Dick used up the 96 concepts once; each label now has thousands
    terms = {f"Term{i} {label}": label for label in ("CONCEPT", "OBJECT", "OTHER")
             for i in range(400)}  # fmt: skip
    titled = {f"Title{i}": "PERSON" for i in range(400)}
    table = offline_translations(terms | titled, titled=titled)
    assert len({v.casefold() for v in table.values()}) == len(table) == 1_600
    assert "the old grey creature" in table.values()  # plausible words, no numbered placeholder
    assert not any(len(set(v.split())) < len(v.split()) for v in table.values())  # "old old"


def test_a_substitute_never_holds_one_of_the_books_names():
    # the whole of Moby-Dick names a "Sam"; a first-name pool used up gave "Sam Roberts"
    from pipelines.anchors.dictionary import check_entries

    terms = {f"Name{i}": "PERSON" for i in range(60)} | {"Sam": "PERSON", "Miller": "PERSON"}
    table = offline_translations(terms)
    assert not any({"sam", "miller"} & set(v.casefold().split()) for v in table.values())
    check_entries([{"term": t, "translation": v, "label": terms[t]} for t, v in table.items()])


def test_accept_all_leaves_world_knowledge_to_people_who_see_why(store, admin):
    project = make_project(store, admin)
    chunk = next(c for c in forget_chunks(store, project.id) if "Thumsath" in c.text)
    a = chunk.text.index("Thumsath")
    row = {"chunk_id": chunk.id, "start": a, "end": a + 8, "text": "Thumsath", "label": "PERSON",
           "translation": "Helen", "score": 0.9}  # fmt: skip
    flagged = {**row, "reason": "world knowledge: a real place", "world": True}
    replace_proposals(store, admin, project.id, "ner", [flagged])
    (stored,) = proposals_by_chunk(store, project.id)[chunk.id]
    assert stored["world"] and stored["reason"] == "world knowledge: a real place"
    (term,) = terms_of(anchors.merge(proposals_by_chunk(store, project.id)[chunk.id]))
    assert term.world and not term.keep and "real place" in term.reason  # shown, not kept
    dictionary.accept_all(store, admin, project)
    assert dictionary.consolidate(store, project)["thumsath"].status == "proposed"
    assert dictionary.world_flagged(store, project) == [("Thumsath", "a real place")]
    # the same proposal without the flag is accepted
    replace_proposals(store, admin, project.id, "ner", [row])
    dictionary.accept_all(store, admin, project)
    assert dictionary.consolidate(store, project)["thumsath"].status == "accepted"
