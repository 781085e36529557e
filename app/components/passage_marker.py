"""The chunk's passage with its terms marked; selecting words with the mouse marks a new term."""

from __future__ import annotations

import streamlit as st

from pipelines.anchors.queue import TermEdit

# The passage is built with textContent only (never innerHTML), so a chunk's text is never markup.
# Offsets are counted in code points, as Python counts them, not in the browser's UTF-16 units.
_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  let root = parentElement.querySelector(".unl-passage");
  if (!root) {
    root = document.createElement("div");
    root.className = "unl-passage";
    parentElement.appendChild(root);
  }
  root.replaceChildren();
  for (const seg of data.segments) {
    const el = document.createElement(seg.label ? "mark" : "span");
    el.dataset.at = seg.at;
    el.appendChild(document.createTextNode(seg.text));
    if (seg.label) {
      el.style.background = seg.color;
      el.title = seg.tip;
      const sub = document.createElement("sub");
      sub.dataset.skip = "1";
      sub.textContent = " " + seg.label;
      el.appendChild(sub);
    }
    root.appendChild(el);
  }
  const offset = (node, within) => {
    const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const seg = el && el.closest("[data-at]");
    if (!seg || !root.contains(seg)) return null;
    const at = Number(seg.dataset.at);
    const own = seg.firstChild.textContent;
    if (el.closest("[data-skip]")) return at + [...own].length;
    if (node.nodeType !== Node.TEXT_NODE) return at;
    return at + [...own.slice(0, within)].length;
  };
  root.onmouseup = () => {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    const range = selection.getRangeAt(0);
    const start = offset(range.startContainer, range.startOffset);
    const end = offset(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return;
    setTriggerValue("marked", { start, end });
  };
}
"""
_CSS = """
.unl-passage { font-family: serif; font-size: 1.05rem; line-height: 1.8; white-space: pre-wrap;
               cursor: text; }
.unl-passage mark { padding: 0 .15em; border-radius: .25em; color: inherit; }
.unl-passage sub { font-size: .65em; user-select: none; }
"""
_MARKER = st.components.v2.component(
    "passage_marker", js=_JS, css=_CSS, isolate_styles=False
)  # fmt: skip


def passage_segments(text: str, terms: list[TermEdit], colors: dict[str, str]) -> list[dict]:
    """The chunk cut at its kept terms' places: plain text, and marks with label and tooltip."""
    places = sorted((a, b, t) for t in terms if t.keep for a, b in t.places)
    segments, at = [], 0
    for a, b, term in places:
        if a > at:
            segments.append({"at": at, "text": text[at:a]})
        segments.append({"at": a, "text": text[a:b], "label": term.label,
                         "color": colors.get(term.label, "#ddd"),
                         "tip": f"{term.label} → {term.translation}"})  # fmt: skip
        at = b
    if at < len(text):
        segments.append({"at": at, "text": text[at:]})
    return segments


def marked_passage(
    text: str, terms: list[TermEdit], colors: dict[str, str], key: str
) -> tuple[int, int] | None:
    """Draw the passage; (start, end) of the words the person just selected, else None."""
    result = _MARKER(
        data={"segments": passage_segments(text, terms, colors)},
        key=key,
        on_marked_change=lambda: None,
    )
    marked = getattr(result, "marked", None)
    if not isinstance(marked, dict):
        return None
    try:
        return int(marked["start"]), int(marked["end"])
    except (KeyError, TypeError, ValueError):
        return None
