"""Benchmark: the offline proposers (spaCy NER and statistics) as the corpus grows.

Chunks a book the way ingest does, repeats the chunks until there are N (spaCy and the word
counts read every copy anew), and runs the proposers over them, timing each proposer and the
merge. With --full-pipeline the spaCy parser runs in place of its sentence recognizer (as
loading it did before), to measure what leaving the parser out saves. Each size runs in its
own process, so its peak RSS is its own. Prints one JSON line per size."""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from bench.per_size import each_size
from pipelines.anchors import propose as anchors
from pipelines.corpus import ingest


def chunk_texts(book: Path, n_chunks: int) -> list[anchors.ChunkText]:
    text = ingest.normalize_text(book.read_text())
    pieces = [text[start:end] for start, end in ingest.chunk_spans(text)]
    return [anchors.ChunkText(i, pieces[i % len(pieces)]) for i in range(n_chunks)]


def load_nlp(full_pipeline: bool):
    if not full_pipeline:
        return anchors.load_spacy()
    import spacy

    return spacy.load(anchors.load_spacy().path, disable=["lemmatizer"])


def measure(n_chunks: int, args) -> dict:
    chunks = chunk_texts(Path(args.book), n_chunks)
    nlp = load_nlp(args.full_pipeline)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def progress(what: str, done: int, total: int) -> None:
        name = what.split()[1] if what.startswith("proposer") else "merge"
        if done == total and name not in seconds:
            seconds[name] = time.perf_counter() - started - sum(seconds.values())

    config = anchors.ProposeConfig(sources=("ner", "stats"))
    result = anchors.run(config, chunks, anchors.Proposers(nlp=nlp), progress=progress)
    total = time.perf_counter() - started
    words = sum(len(c.text.split()) for c in chunks)
    return {
        "chunks": n_chunks,
        "words": words,
        "parser": args.full_pipeline,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "total_s": round(total, 2),
        "chunks_per_s": round(n_chunks / total, 1),
        "spans": result.counts(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default="../shared/data/books/alice.txt")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--full-pipeline", action="store_true", help="keep the spaCy parser on")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    flags = ["--book", args.book] + ["--full-pipeline"] * args.full_pipeline
    each_size("bench.proposers", "--chunks", args.chunks, flags,
              (lambda n: measure(n, args)) if args.single else None)  # fmt: skip


if __name__ == "__main__":
    main()
