"""Benchmark: annotators submitting at once, in processes, while a large ingest and a publish run.

Every submission carries a unique mark; afterwards the store is searched for each mark, so a
submission reported saved but missing is `lost` and one stored twice is `duplicated`. The last
line printed is JSON: submissions_per_s, p50_ms, p95_ms, max_ms, lost, duplicated, database.

    .venv/bin/python -m bench.load --database sqlite
    .venv/bin/python -m bench.load --database postgresql
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from collections import Counter

from bench import postgres
from bench.ingest import corpus
from pipelines import bootstrap
from pipelines.anchors import dictionary
from pipelines.config import IngestConfig, Settings
from pipelines.corpus import ingest
from pipelines.store import open_store
from pipelines.store.anchors import forget_chunks
from pipelines.store.projects import get_project, submissions_of_kind
from pipelines.store.users import authenticate, create_user
from pipelines.types import DocRole, Role

PG_PORT = 55441


def annotate(username: str, project_id: int, chunks: list[tuple[int, str]], seconds: float,
             ready, go, out) -> None:  # fmt: skip
    """One annotator: once everyone is ready, submit chunk after chunk for `seconds`; puts
    (mark, ms) per save."""
    store = open_store(Settings.from_env())
    actor = authenticate(store, username, f"{username}-password")
    project = get_project(store, project_id)
    ready.put(username)
    go.wait()
    until = time.time() + seconds
    saved, n = [], 0
    while time.time() < until:
        chunk_id, text = chunks[n % len(chunks)]
        name = text.split()[0]
        span = {"start": 0, "end": len(name), "label": "PERSON", "translation": "Wren"}
        mark = f"{username}:{n}"
        t0 = time.perf_counter()
        dictionary.submit_chunk(store, actor, project, chunk_id, text, [span], mark=mark)
        saved.append((mark, (time.perf_counter() - t0) * 1000))
        n += 1
    out.put(saved)


def background_writes(store, admin, project, megabytes: int) -> dict:
    """A large ingest into the same store, then a publish of the dictionary."""
    timings = {}
    data = corpus(megabytes)
    t0 = time.perf_counter()
    ingest.run(IngestConfig(), [ingest.Upload("big.txt", data)], store=store, actor=admin,
               project_id=project.id, role=DocRole.FORGET)  # fmt: skip
    timings["ingest_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    version = dictionary.publish(store, admin, get_project(store, project.id))
    timings["publish_s"] = round(time.perf_counter() - t0, 2)
    timings["published_terms"] = version.n_terms
    return timings


def run(database: str, annotators: int, seconds: float, megabytes: int) -> dict:
    started = bootstrap.start(Settings.from_env())
    store, admin = started.store, started.admin
    bootstrap.seed_demo(store, admin)
    project = get_project(store, "Demo")
    chunks = [
        (c.id, c.text) for c in forget_chunks(store, project.id) if c.text.split()[0].isalpha()
    ]
    names = [f"ann{i}" for i in range(annotators)]
    for name in names:
        create_user(store, admin, name, f"{name}-password", Role.ANNOTATOR)
    store.engine.dispose()  # each process opens its own connections
    spawn = mp.get_context("spawn")
    ready, go, results = spawn.Queue(), spawn.Event(), spawn.Queue()
    workers = [spawn.Process(target=annotate,
                             args=(n, project.id, chunks, seconds, ready, go, results))
               for n in names]  # fmt: skip
    for w in workers:
        w.start()
    for _ in workers:
        ready.get()
    go.set()
    time.sleep(min(3.0, seconds / 4))  # the annotators are saving when the big writes begin
    timings = background_writes(store, admin, project, megabytes)
    saved = [row for _ in workers for row in results.get()]
    for w in workers:
        w.join()
    marks = Counter(
        r.payload.get("mark") for r in submissions_of_kind(store, project.id, dictionary.CHUNK_KIND)
    )
    latencies = sorted(ms for _, ms in saved)
    return {
        "database": database,
        "annotators": annotators,
        "seconds": seconds,
        "ingest_megabytes": megabytes,
        **timings,
        "submissions": len(saved),
        "submissions_per_s": round(len(saved) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
        "lost": sum(1 for mark, _ in saved if marks[mark] == 0),
        "duplicated": sum(1 for mark, _ in saved if marks[mark] > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--megabytes", type=int, default=20, help="size of the concurrent ingest")
    args = parser.parse_args()
    with postgres.scratch_store(args.database, PG_PORT):
        result = run(args.database, args.annotators, args.seconds, args.megabytes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
