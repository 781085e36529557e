"""Benchmark: recall and precision of the offline anchor proposers against the demo's own names."""

from __future__ import annotations

import argparse
import json
import time

from pipelines import bootstrap
from pipelines.anchors import propose as anchors


def demo_chunks() -> tuple[list[anchors.ChunkText], list[str]]:
    books = sorted(bootstrap.DEMO_DIR.glob("forget/*.md"))
    chunks = [anchors.ChunkText(i, p.read_text(encoding="utf-8")) for i, p in enumerate(books)]
    reference = [p.read_text(encoding="utf-8") for p in bootstrap.DEMO_DIR.glob("retain/*.md")]
    return chunks, reference


def score(found: set[str], names: set[str]) -> dict:
    hits = found & names
    # Surnames of listed full names are anchors too, though names.json lists only first names.
    parts = {w for n in names for w in n.split()} - names
    return {
        "recall": round(len(hits) / len(names), 3),
        "precision": round(len(hits) / max(1, len(found)), 3),
        "precision_with_name_parts": round(len(found & (names | parts)) / max(1, len(found)), 3),
        "found": len(found),
        "missed": sorted(names - found),
        "other": sorted(found - names - parts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", default="ner;stats;ner,stats", help="';'-separated runs")
    parser.add_argument("--min-ratio", type=float, default=anchors.ProposeConfig.min_ratio)
    args = parser.parse_args()
    names = {n["term"] for n in json.loads((bootstrap.DEMO_DIR / "names.json").read_text())}
    chunks, reference = demo_chunks()
    nlp = anchors.load_spacy()
    for run in args.sources.split(";"):
        sources = tuple(run.split(","))
        started = time.perf_counter()
        result = anchors.run(
            anchors.ProposeConfig(sources=sources, min_ratio=args.min_ratio),
            chunks,
            anchors.Proposers(nlp=nlp, reference_texts=reference),
        )
        seconds = time.perf_counter() - started
        spans = [dict(s.row(), source=s.source) for ss in result.spans.values() for s in ss]
        merged = anchors.merge(spans)
        found = {s["text"] for s in merged}
        # invented names judged the world's would wait for a person rather than be accepted
        flagged = sorted({s["text"] for s in merged if s["world"]} & names)
        print(json.dumps({"sources": run, "seconds": round(seconds, 2), **score(found, names),
                          "names_flagged_world": flagged}))  # fmt: skip


if __name__ == "__main__":
    main()
