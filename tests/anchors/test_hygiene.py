"""Proposals on real text: no headings, title pages, vocatives or spans across punctuation; a
common English word only as a capitalised proper noun, flagged to annotators."""

from __future__ import annotations

from pipelines.anchors import propose as anchors
from pipelines.anchors.hygiene import in_heading_or_title, is_common_word, trim_span
from pipelines.anchors.queue import terms_of

TITLE_PAGE = (
    "Alice’s Adventures in Wonderland\n\nby Lewis Carroll\n\nCHAPTER I.\nDown the Rabbit-Hole"
)
STORY = (
    "The White Rabbit hurried past, and Alice ran after it across the field. “Dear Alice,” said "
    "the Duchess, “come, Alice!--quick.” A long walk up the hill; the rabbit was gone. "
    "Breakfast was cold. Then the Hatter and the March Hare sat down with the Dormouse."
)


def spans_of(text: str, *terms: str, label: str = "PERSON") -> list[anchors.Span]:
    return [
        anchors.Span(1, a, b, text[a:b], label, 0.6, "ner")
        for term in terms
        for a, b in [(text.index(term), text.index(term) + len(term))]
    ]


def test_vocatives_and_salutations_are_trimmed_and_punctuation_ends_a_span():
    start = STORY.index("Dear Alice")
    assert STORY[slice(*trim_span(STORY, start, start + 10))] == "Alice"
    start = STORY.index("come, Alice")
    assert STORY[slice(*trim_span(STORY, start, start + 11))] == "Alice"
    start = STORY.index("Alice!--quick")
    assert trim_span(STORY, start, start + len("Alice!--quick")) is None
    assert trim_span("Mr. Darcy bowed.", 0, 9) == (0, 9)  # a title keeps its full stop
    assert trim_span("Chapter 1", 0, 9) is None


def test_headings_and_title_page_matter_are_not_anchors():
    assert in_heading_or_title(TITLE_PAGE, TITLE_PAGE.index("Lewis"))
    assert in_heading_or_title(TITLE_PAGE, TITLE_PAGE.index("Wonderland"))
    assert in_heading_or_title(TITLE_PAGE, TITLE_PAGE.index("Rabbit-Hole"))
    assert not in_heading_or_title(STORY, STORY.index("Hatter"))


def test_common_words_are_kept_only_as_proper_nouns_used_mid_sentence():
    assert is_common_word("White Rabbit") and is_common_word("Long") and is_common_word("Hill")
    assert not is_common_word("Hatter") and not is_common_word("Dormouse")
    spans = spans_of(STORY, "White Rabbit", "Breakfast", "Hatter", "Duchess", "Dormouse")
    kept = anchors.anchor_like(spans, [anchors.ChunkText(1, STORY)])
    # "Breakfast" is capitalised only where it starts a sentence: the common word, not a name.
    assert [s.text for s in kept] == ["White Rabbit", "Hatter", "Duchess", "Dormouse"]


def test_stats_proposals_of_a_capitalised_term_skip_its_lowercase_uses():
    assert anchors.occurrences(STORY, "Alice") == [
        (i, i + 5) for i in range(len(STORY)) if STORY.startswith("Alice", i)
    ]
    assert anchors.occurrences("the hill and the Hill", "Hill") == [(17, 21)]


def test_annotators_see_the_common_word_flag():
    text = "Then the Hatter spoke to the Queen."
    spans = [
        {"start": 9, "end": 15, "text": "Hatter", "label": "PERSON", "translation": "Sam"},
        {"start": 29, "end": 34, "text": "Queen", "label": "PERSON", "translation": "Kit"},
    ]
    flags = {t.text: t.common_word for t in terms_of(spans)}
    assert flags == {"Hatter": False, "Queen": True}
    assert text[9:15] == "Hatter"


def test_after_a_submit_the_next_unsubmitted_chunk_in_queue_order_is_shown():
    from pipelines.anchors.queue import QueueEntry, neighbour, next_after_submit, page_of

    def entry(chunk_id: int, done: bool) -> QueueEntry:
        return QueueEntry(chunk_id, 1, chunk_id, 0.5, done)

    items = [entry(7, False), entry(3, False), entry(9, True), entry(4, False)]
    assert next_after_submit(items, 7) == 3  # the one after it, not the chunk just stored
    assert next_after_submit(items, 3) == 4  # past a submitted one
    assert next_after_submit(items, 4) == 7  # from the end back to the front
    assert next_after_submit([entry(7, False), entry(9, True)], 7) is None  # the queue is done
    assert page_of(items, 4, size=2) == 2 and page_of(items, 12, size=2) == 1
    # Previous / Next step through queue order, submitted chunks included, and stop at the ends
    assert neighbour(items, 3, 1) == 9 and neighbour(items, 9, -1) == 3
    assert neighbour(items, 7, -1) is None and neighbour(items, 4, 1) is None
    assert neighbour(items, 12, 1) is None
