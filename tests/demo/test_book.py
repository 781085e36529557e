"""The real-book run's inputs: chapters without front matter, chapter picks, fact groups."""

from __future__ import annotations

import json

import pytest

from pipelines.demo import book
from pipelines.types import UnlearnError

BOOK = (
    "A Tale\n\nby Someone\n\nContents\n\n CHAPTER I.   The Start\n CHAPTER II.  The End\n\n\n"
    "CHAPTER I.\nThe Start\n\nOnce upon a time.\n\nCHAPTER II.\nThe End\n\nThey lived on."
)


def test_chapters_skip_the_title_page_and_the_contents_list():
    found = book.chapters(BOOK)
    assert [c.splitlines()[0] for c in found] == ["CHAPTER I.", "CHAPTER II."]
    assert "Once upon a time." in found[0] and "by Someone" not in "".join(found)


def test_pick_chapters_by_number_and_range():
    assert "They lived on." in book.pick_chapters(BOOK, "2")
    assert book.pick_chapters(BOOK, "1-2").count("CHAPTER") == 2
    with pytest.raises(UnlearnError, match="the book has 2"):
        book.pick_chapters(BOOK, "3")


def test_facts_are_read_by_group_and_a_bad_group_is_refused(tmp_path):
    path = tmp_path / "facts.jsonl"
    rows = [
        {"group": "forget", "prompt": "The cat's", "answer": "grin"},
        {"group": "general", "prompt": "The capital of France is", "answer": "Paris"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    facts = book.read_facts(path)
    assert facts["forget"] == [("The cat's", "grin")] and facts["kept"] == []
    path.write_text(json.dumps({"group": "trivia", "prompt": "p", "answer": "a"}))
    with pytest.raises(UnlearnError, match="facts.jsonl:1: group must be one of"):
        book.read_facts(path)


def test_the_alice_benchmark_fact_set_has_the_groups_the_issue_asks_for():
    facts = book.read_facts(book.BENCH_BOOKS / "alice" / "facts.jsonl")
    sizes = {group: len(pairs) for group, pairs in facts.items()}
    assert sizes["general"] >= 30 and sizes["fiction"] >= 10
    assert sizes["forget"] + sizes["kept"] >= 10 and sum(sizes.values()) >= 40


def test_the_title_and_author_come_from_the_title_page():
    from pipelines.demo.book import book_title

    assert book_title("[Illustration]\n\n\nThe Lantern Keeper\n\nby Ada Quill\n\nCONTENTS\n") == (
        "The Lantern Keeper by Ada Quill"
    )
    assert book_title("THE SALT ROAD; OR THE FERRY\n\nBy Tom Reed\n\n\nNotes:\n") == (
        "The Salt Road; Or The Ferry by Tom Reed"
    )
    assert book_title("CHAPTER I.\n\nIt was a cold morning by the river.\n") == ""
