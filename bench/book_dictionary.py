"""The offline anchor dictionary on a real book: precision and recall against a gold list, and
how many ordinary-word occurrences its translation rewrites, case-aware against case-blind.

    .venv/bin/python -m bench.book_dictionary --book ../shared/data/books/alice.txt \
        --chapters 6-7 --gold bench/books/alice/gold_anchors_ch6-7.json

Last line: JSON with terms, precision, recall, rewrites (case-aware), rewrites_case_blind and
ordinary_rewrites (occurrences replaced where the text does not name the anchor).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from pipelines.anchors import propose as anchors
from pipelines.corpus.ingest import chunk_spans
from pipelines.demo.book import OTHER_TEXT, pick_chapters
from pipelines.whp.translate import Translator


def proposed_dictionary(text: str, reference: str) -> dict[str, str]:
    """What `anchors propose` (ner, stats) and `accept-all` publish: one translation per term."""
    chunks = [anchors.ChunkText(i, text[a:b]) for i, (a, b) in enumerate(chunk_spans(text))]
    deps = anchors.Proposers(reference_texts=[reference])
    result = anchors.run(anchors.ProposeConfig(), chunks, deps)
    terms: dict[str, str] = {}
    for spans in result.spans.values():
        for span in spans:
            terms.setdefault(span.text, span.translation)
    return terms


def case_blind_rewrites(text: str, terms) -> int:
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return len(re.findall(rf"(?<!\w)(?:{pattern})(?!\w)", text, re.IGNORECASE))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", required=True)
    parser.add_argument("--chapters", default="6-7")
    parser.add_argument("--gold", required=True)
    args = parser.parse_args()
    text = pick_chapters(Path(args.book).read_text(encoding="utf-8"), args.chapters)
    gold = {g.casefold() for g in json.loads(Path(args.gold).read_text())}
    gold_present = {g for g in gold if g in text.casefold()}
    terms = proposed_dictionary(text, OTHER_TEXT.read_text(encoding="utf-8"))
    found = {t.casefold() for t in terms}
    translation = Translator(terms).translate(text)
    ordinary = [r for r in translation.replacements if not text[r.src_start].isupper()]
    for term, generic in sorted(terms.items()):
        print(f"{term:24} -> {generic:22} {'gold' if term.casefold() in gold else 'NOT GOLD'}")
    print(json.dumps({
        "terms": len(terms),
        "precision": round(len(found & gold) / max(1, len(found)), 3),
        "recall": round(len(found & gold_present) / max(1, len(gold_present)), 3),
        "rewrites": len(translation.replacements),
        "rewrites_case_blind": case_blind_rewrites(text, terms),
        "ordinary_rewrites": len(ordinary),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
