"""Benchmark: ingest a large text upload (decode, normalize, chunk, store); time and memory."""

from __future__ import annotations

import argparse
import json
import resource
import time

from pipelines import bootstrap
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.projects import create_project
from pipelines.types import DocRole


def corpus(megabytes: int) -> bytes:
    books = b"\n\n".join(p.read_bytes() for p in sorted(bootstrap.DEMO_DIR.glob("forget/*.md")))
    copies = megabytes * 2**20 // len(books) + 1
    # Vary each copy so the text is not one repeated block for the deduplication or the chunker.
    return b"\n\n".join(books.replace(b"Chapter", b"Part %d" % i) for i in range(copies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=20)
    args = parser.parse_args()
    data = corpus(args.megabytes)
    started = bootstrap.start()
    project = create_project(
        started.store, started.admin, f"bench-{time.time_ns()}", "smollm2-135m"
    )
    t0 = time.perf_counter()
    doc = ingest.prepare(ingest.Upload("big.txt", data), IngestConfig())
    t1 = time.perf_counter()
    ingest.run(
        IngestConfig(),
        [ingest.Upload("big.txt", data)],
        store=started.store,
        actor=started.admin,
        project_id=project.id,
        role=DocRole.FORGET,
    )
    t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "megabytes": round(len(data) / 2**20, 1),
                "chunks": len(doc.spans),
                "prepare_s": round(t1 - t0, 2),
                "prepare_and_store_s": round(t2 - t1, 2),
                "mb_per_s": round(len(data) / 2**20 / (t2 - t1), 1),
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
