"""Benchmark: the functions the annotation and dictionary pages call, on a big project.

Builds a project of about 10,000 chunks with 50,000 proposed spans and 20 annotators'
submissions, then times what a page does: the annotator's next item (the queue), a submission
saved, the term-level dictionary view, a publish and a full project export. The last line is
JSON with next_item_p95_ms, save_p95_ms, dictionary_view_ms, publish_s, export_s (and
next_item_cold_ms: the first load after a proposer run, which computes the queue's order).

    .venv/bin/python -m bench.pages --database sqlite
    .venv/bin/python -m bench.pages --database postgresql
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from bench import postgres
from pipelines import bootstrap
from pipelines.anchors import dictionary
from pipelines.anchors import queue as annotation_queue
from pipelines.config import IngestConfig, Settings
from pipelines.corpus import ingest
from pipelines.store import archive
from pipelines.store.anchors import forget_chunks, replace_proposals
from pipelines.store.projects import create_project, get_project
from pipelines.store.users import create_user
from pipelines.types import DocRole, Role

PG_PORT = 55442
NAMES = [f"Skarn{c}{v}th" for c in "bdgklmnprstvz" for v in "aeiou"]  # 65 invented names


def paragraph(rng: random.Random, words: int = 60) -> str:
    """A chunk-sized paragraph with a few invented names among plain words."""
    plain = "the of and a to in was he she it that at his her with on for they".split()
    out = [rng.choice(NAMES) if i % 12 == 0 else rng.choice(plain) for i in range(words)]
    out[0] = out[0].capitalize()
    return " ".join(out) + "."


def build(store, admin, n_chunks: int, spans_per_chunk: int, annotators: int, per_annotator: int):
    """The project, its chunks (one paragraph each), proposals and the annotators' work."""
    rng = random.Random(0)
    project = create_project(store, admin, "Big", "smollm2-135m")
    text = "\n\n".join(paragraph(rng) for _ in range(n_chunks))
    config = IngestConfig(max_bytes=200 * 2**20, min_chunk_words=20, max_chunk_words=80)
    ingest.run(config, [ingest.Upload("big.txt", text.encode())], store=store, actor=admin,
               project_id=project.id, role=DocRole.FORGET)  # fmt: skip
    chunks = forget_chunks(store, project.id)
    spans = []
    for c in chunks:
        found = [(m, c.text.index(m)) for m in dict.fromkeys(w for w in c.text.split()
                                                              if w in NAMES)]  # fmt: skip
        for name, start in found[:spans_per_chunk]:
            spans.append({"chunk_id": c.id, "start": start, "end": start + len(name),
                          "text": name, "label": "PERSON", "translation": "Wren",
                          "score": rng.random()})  # fmt: skip
    replace_proposals(store, admin, project.id, "ner", spans)
    project = get_project(store, project.id)
    people = [create_user(store, admin, f"ann{i}", f"ann{i}-password", Role.ANNOTATOR)
              for i in range(annotators)]  # fmt: skip
    by_chunk = {}
    for s in spans:
        by_chunk.setdefault(s["chunk_id"], []).append(s)
    for person in people:
        for c in rng.sample(chunks, per_annotator):
            dictionary.submit_chunk(store, person, project, c.id, c.text, by_chunk.get(c.id, []))
    return project, chunks, people, by_chunk, len(spans)


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def timed(work) -> float:
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def run(args) -> dict:
    started = bootstrap.start(Settings.from_env())
    store, admin = started.store, started.admin
    t0 = time.perf_counter()
    project, chunks, people, by_chunk, n_spans = build(
        store, admin, args.chunks, args.spans_per_chunk, args.annotators, args.per_annotator
    )
    build_s = time.perf_counter() - t0

    def next_item_of(person) -> None:  # what the Anchor terms page does on every load
        first = annotation_queue.queue_order(store, project, person.username)[0]
        annotation_queue.queue_item(store, project, person.username, first)

    next_item = [timed(lambda p=p: next_item_of(p)) for p in people]
    rng = random.Random(1)

    def save(person, chunk) -> None:
        spans = by_chunk.get(chunk.id, [])
        dictionary.submit_chunk(store, person, project, chunk.id, chunk.text, spans)

    saves = [timed(lambda p=p: save(p, rng.choice(chunks))) for p in people]
    view = timed(lambda: dictionary.consolidate(store, project))
    publish = timed(lambda: dictionary.publish(store, admin, project))
    with tempfile.TemporaryDirectory() as out:
        export = timed(
            lambda: archive.export_project(store, admin, project.id, Path(out) / "p.zip")
        )
    return {
        "database": args.database,
        "chunks": len(chunks),
        "proposed_spans": n_spans,
        "annotators": len(people),
        "submissions": len(people) * (args.per_annotator + 1),
        "build_s": round(build_s, 1),
        "next_item_p95_ms": round(p95(next_item) * 1000, 1),
        "next_item_cold_ms": round(next_item[0] * 1000, 1),  # uncertainties not cached yet
        "save_p95_ms": round(p95(saves) * 1000, 1),
        "dictionary_view_ms": round(view * 1000, 1),
        "publish_s": round(publish, 2),
        "export_s": round(export, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--spans-per-chunk", type=int, default=5)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--per-annotator", type=int, default=100, help="chunks each submitted")
    args = parser.parse_args()
    with postgres.scratch_store(args.database, PG_PORT):
        result = run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
