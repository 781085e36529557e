"""One chunk for annotators: its text with anchor spans highlighted, and a per-term editor."""

from __future__ import annotations

import html
from dataclasses import replace

import streamlit as st

from app.components import shortcuts
from pipelines.anchors import queue
from pipelines.anchors.dictionary import MAX_TRANSLATION_CHARS
from pipelines.anchors.propose import LABELS, term_key
from pipelines.anchors.queue import (
    DRAFT_KIND,
    QueueEntry,
    QueueItem,
    TermEdit,
    add_term,
    draft_payload,
    selected_words,
    terms_from_draft,
    terms_of,
)
from pipelines.store.anchors import chunks_containing
from pipelines.store.drafts import drop_draft, load_draft, save_draft
from pipelines.types import UnlearnError

COLORS = {
    "PERSON": "#f4a261",
    "PLACE": "#2a9d8f",
    "ORG": "#e9c46a",
    "OBJECT": "#8ab17d",
    "EVENT": "#e76f51",
    "CONCEPT": "#9b8ec4",
    "OTHER": "#adb5bd",
}


def chunk_label(entry: QueueEntry, document_names: dict, drafted: set) -> str:
    return (
        f"{'✓ ' if entry.done else ''}{'✎ ' if entry.chunk_id in drafted else ''}"
        f"{document_names.get(entry.document_id, entry.document_id)} · chunk {entry.seq + 1} · "
        f"uncertainty {entry.uncertainty:.2f}"
    )


def pick_chunk(items: list[QueueEntry], document_names: dict, drafted: set, project_id: int) -> int:
    """The chunk selector, a page of the queue at a time on a big project; the chosen chunk id."""
    _apply_next_chunk(items, project_id)
    page = 1
    if len(items) > queue.QUEUE_PAGE_SIZE:
        pages = queue.queue_page(items, 1)[1]
        page = st.number_input(f"Page of your queue (1–{pages:,})", 1, pages,
                               key=f"anchor_page_{project_id}")  # fmt: skip
    shown = {i.chunk_id: i for i in queue.queue_page(items, page)[0]}
    if len(shown) < len(items):
        first = (page - 1) * queue.QUEUE_PAGE_SIZE + 1
        st.caption(f"Chunks {first:,}–{first + len(shown) - 1:,} of {len(items):,} in queue order.")
    key = _selector_key(project_id, page)
    chunk_id = st.selectbox(
        "Chunk (unsubmitted first, most uncertain first)",
        list(shown),
        format_func=lambda c: chunk_label(shown[c], document_names, drafted),
        key=key,
    )
    _step_buttons(items, chunk_id, project_id)
    return chunk_id


def _step_buttons(items: list[QueueEntry], chunk_id: int, project_id: int) -> None:
    """Previous / Next chunk in queue order, across pages of the queue, with their keys."""
    before, after = queue.neighbour(items, chunk_id, -1), queue.neighbour(items, chunk_id, 1)
    back, forward, _ = st.columns([1, 1, 3])
    if back.button("◀ Previous chunk", key="anchor_previous", disabled=before is None,
                   shortcut=shortcuts.PREVIOUS_CHUNK, width="stretch"):  # fmt: skip
        show_chunk_next(project_id, before)
        st.rerun()
    if forward.button("Next chunk ▶", key="anchor_next", disabled=after is None,
                      shortcut=shortcuts.NEXT_CHUNK, width="stretch"):  # fmt: skip
        show_chunk_next(project_id, after)
        st.rerun()


SHOW = ("all", "unsubmitted")  # a radio, not a checkbox: the term rows' checkboxes come first


def search_chunks(store, project_id: int, items: list[QueueEntry]) -> list[QueueEntry]:
    """The queue narrowed by words in the chunk text and to unsubmitted chunks, as asked; the
    queue's order is kept, so Submit still moves on to the next chunk that matches."""
    words_col, open_col = st.columns([3, 1])
    words = words_col.text_input("Search the chunks (words in the text)",
                                 key=f"anchor_search_{project_id}")  # fmt: skip
    shown = open_col.radio("Show", SHOW, horizontal=True, key=f"anchor_open_{project_id}")
    only_open = shown == SHOW[1]
    found = items
    if words.strip():
        hits = chunks_containing(store, project_id, words)
        found = [i for i in found if i.chunk_id in hits]
    if only_open:
        found = [i for i in found if not i.done]
    if len(found) < len(items):
        st.caption(f"{len(found):,} of {len(items):,} chunks match.")
    return found


def _selector_key(project_id: int, page: int) -> str:
    return f"anchor_chunk_{project_id}" + (f"_p{page}" if page > 1 else "")


def show_chunk_next(project_id: int, chunk_id: int | None) -> None:
    """Ask the next run's selector to show a chunk (a drawn widget's value cannot change in the
    run that drew it); None keeps the chunk shown."""
    if chunk_id is not None:
        st.session_state[f"anchor_next_chunk_{project_id}"] = chunk_id


def _apply_next_chunk(items: list[QueueEntry], project_id: int) -> None:
    """Set the page and selector to the chunk asked for, before they are drawn. The value is
    set, never dropped: a dropped key is rebuilt from what the browser still shows, the chunk
    just submitted, and the next action would go to it."""
    chunk_id = st.session_state.pop(f"anchor_next_chunk_{project_id}", None)
    if chunk_id is not None:
        page = queue.page_of(items, chunk_id)
        if len(items) > queue.QUEUE_PAGE_SIZE:
            st.session_state[f"anchor_page_{project_id}"] = page
        st.session_state[_selector_key(project_id, page)] = chunk_id


def legend() -> str:
    return " ".join(
        f"<span style='background:{c};padding:0 .4em;border-radius:.3em'>{label}</span>"
        for label, c in COLORS.items()
    )


def draft(store, actor, item: QueueItem) -> list[TermEdit]:
    """The annotator's working copy of this chunk's terms: this session's, else the draft saved
    on the server (another tab, a reload, yesterday), else their submission or the proposals."""
    key = f"anchor_draft_{item.chunk_id}"
    if key not in st.session_state:
        saved = load_draft(store, actor, DRAFT_KIND, item.chunk_id)
        st.session_state[key] = terms_from_draft(saved) if saved else terms_of(item.spans)
        st.session_state[f"anchor_saved_{item.chunk_id}"] = st.session_state[key]
    return st.session_state[key]


def keep_draft(store, actor, project, item: QueueItem, edited: list[TermEdit]) -> None:
    """Save the edits as they are made: for this session, and on the server when they differ
    from what was last saved there (or first shown)."""
    st.session_state[f"anchor_draft_{item.chunk_id}"] = edited
    saved = f"anchor_saved_{item.chunk_id}"
    if edited != st.session_state.get(saved):
        save_draft(store, actor, project.id, DRAFT_KIND, item.chunk_id, draft_payload(edited))
        st.session_state[saved] = edited


def forget_draft(store, actor, item: QueueItem) -> None:
    for key in (f"anchor_draft_{item.chunk_id}", f"anchor_saved_{item.chunk_id}"):
        st.session_state.pop(key, None)
    drop_draft(store, actor, DRAFT_KIND, item.chunk_id)


def term_rows(item: QueueItem, terms: list[TermEdit]) -> list[TermEdit]:
    """Keep / label / translation per term; returns the terms as currently edited."""
    edited = []
    head = st.columns([0.7, 2.2, 1.4, 2.8, 1.2])
    titles = ["Keep", "Term", "Label", "Generic translation", "Evidence"]
    for col, title in zip(head, titles, strict=True):
        col.caption(title)
    for term in terms:
        keep_col, term_col, label_col, tr_col, ev_col = st.columns([0.7, 2.2, 1.4, 2.8, 1.2])
        k = f"{item.chunk_id}_{term_key(term.text)}"  # stays with the term when others change
        keep = keep_col.checkbox(
            "keep", term.keep, key=f"keep_{k}", label_visibility="collapsed",
            on_change=_note_edit, args=(item.chunk_id, term.text, "keep"),
        )  # fmt: skip
        term_col.markdown(f"**{html.escape(term.text)}** ×{len(term.places)}")
        label = label_col.selectbox(
            "label",
            LABELS,
            LABELS.index(term.label),
            key=f"label_{k}",
            label_visibility="collapsed",
            on_change=_note_edit,
            args=(item.chunk_id, term.text, "label"),
        )
        translation = tr_col.text_input(
            f"translation of {term.text}", term.translation, key=f"tr_{k}",
            max_chars=MAX_TRANSLATION_CHARS, label_visibility="collapsed", on_change=_note_edit,
            args=(item.chunk_id, term.text, "translation"),
        )  # fmt: skip
        evidence = f"{term.score:.2f} {term.sources}" if term.score is not None else "yours"
        if term.common_word:
            evidence += " · also a common word: replaced only where capitalised"
        if term.reason:
            evidence += f" · {term.reason}"
        ev_col.caption(("⚑ " if term.world else "") + evidence)
        edited.append(replace(term, label=label, translation=translation, keep=keep))
    return edited


WIDGET_PREFIX = {"keep": "keep", "label": "label", "translation": "tr"}


def _note_edit(chunk_id: int, text: str, field: str) -> None:
    """A widget's change, written into this session's draft of the chunk before the rerun
    starts: a click followed at once by another (a different chunk) is never lost with the
    interrupted run."""
    key = f"anchor_draft_{chunk_id}"
    widget = f"{WIDGET_PREFIX[field]}_{chunk_id}_{term_key(text)}"
    if key not in st.session_state or widget not in st.session_state:
        return
    value = st.session_state[widget]
    st.session_state[key] = [replace(t, **{field: value}) if t.text == text else t
                             for t in st.session_state[key]]  # fmt: skip


def mark_selection(item: QueueItem, selection: tuple[int, int] | None) -> None:
    """Words selected in the passage go into the add-term form's words box (whole words)."""
    if selection is None:
        return
    words = selected_words(item.text, *selection)
    if words:
        st.session_state[f"add_phrase_{item.chunk_id}"] = words


def add_term_form(item: QueueItem, terms: list[TermEdit]) -> None:
    """Mark a missed term by selecting its words in the passage, or typing (or pasting) them."""
    with st.form(f"add_term_{item.chunk_id}", clear_on_submit=True):
        st.markdown(
            "**Add a term the proposers missed**: select its words in the passage above, or "
            "type them; then choose its label and generic translation."
        )
        words, label, translation, button = st.columns([2.4, 1.3, 2.4, 1])
        phrase = words.text_input("Words from the chunk", key=f"add_phrase_{item.chunk_id}")
        chosen = label.selectbox("Label", LABELS, key=f"add_label_{item.chunk_id}")
        generic = translation.text_input(
            "Generic translation",
            key=f"add_translation_{item.chunk_id}",
            max_chars=MAX_TRANSLATION_CHARS,
        )
        button.write("")
        if button.form_submit_button("Add term"):
            try:
                st.session_state[f"anchor_draft_{item.chunk_id}"] = add_term(
                    item.text, terms, phrase, chosen, generic
                )
                st.rerun()
            except UnlearnError as err:
                st.error(str(err))
