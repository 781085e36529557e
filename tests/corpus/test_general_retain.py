"""The shipped retain text: mixed beside or instead of the project's, never naming the target."""

from __future__ import annotations

from pipelines.corpus import general_retain


def test_the_mixes_put_the_shipped_text_beside_or_instead_of_the_projects():
    own = ["The project's own retain text."]
    beside = general_retain.retain_mix(own, [], "beside")
    assert beside[0] == own[0] and len(beside) == 2 and "Canberra" in beside[1]
    assert general_retain.retain_mix(own, [], "instead") == beside[1:]
    assert general_retain.retain_mix(own, [], "none") == own


def test_a_paragraph_that_names_the_target_is_left_out():
    every = general_retain.shipped_paragraphs([])
    without = general_retain.shipped_paragraphs(["Don Quixote", "Sancho Panza", "the White"])
    assert len(without) == len(every) - 1
    assert not any("Quixote" in p for p in without)
    assert any("Quixote" in p for p in every)
