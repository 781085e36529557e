"""Benchmark: faults, races and hostile archives against a store (SQLite and PostgreSQL).

    .venv/bin/python -m bench.faults [--databases sqlite,postgresql] [--rounds 100]

For each database, prints one JSON line: inputs tried, faults survived (each refused with a
message or settled to a valid state), rows lost (rows a backup held that a restore did not
bring back, or work a refused fault removed) and half-states (empty or unregistered dictionary
versions, staging folders left behind, jobs whose row contradicts what ran)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event, func, select

from bench.postgres import available, scratch_store
from pipelines import bootstrap
from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.corpus.ingest import Upload
from pipelines.llm import LLMFailure
from pipelines.store import archive, disk_full
from pipelines.store import jobs as rows
from pipelines.store.anchors import forget_chunks, proposals_by_chunk, replace_proposals
from pipelines.store.projects import get_project, list_projects
from pipelines.store.tables import Document
from pipelines.store.users import authenticate, create_user
from pipelines.types import DocRole, Role, UnlearnError
from tests.concurrency import at_once

PORT = 54399


class Tally:
    def __init__(self) -> None:
        self.tried = self.survived = self.rows_lost = self.half_states = 0

    def check(self, survived: bool, rows_lost: int = 0, half_states: int = 0) -> None:
        self.tried += 1
        self.survived += bool(survived)
        self.rows_lost += rows_lost
        self.half_states += half_states


def source_backup(folder: Path) -> Path:
    """A SQLite store where people worked on the demo, backed up: the archive every restore
    fault starts from."""
    os.environ["UNLEARN_HOME"] = str(folder / "source")
    database = os.environ.pop("UNLEARN_DATABASE_URL", None)
    try:
        started = bootstrap.start()
        store, admin = started.store, started.admin
        bootstrap.seed_demo(store, admin)
        project = get_project(store, "Demo")
        ann = create_user(store, admin, "ann1", "ann1-password", Role.ANNOTATOR)
        chunk = forget_chunks(store, project.id)[0]
        name = chunk.text.split()[0]
        span = {"start": 0, "end": len(name), "label": "PERSON", "translation": "Wren"}
        replace_proposals(store, admin, project.id, "ner",
                          [{**span, "chunk_id": chunk.id, "text": name, "score": 0.9}])  # fmt: skip
        dictionary.submit_chunk(store, ann, project, chunk.id, chunk.text, [span])
        dictionary.publish(store, admin, project)
        whole = folder / "all.zip"
        archive.backup(store, admin, whole)
        return whole
    finally:
        if database:
            os.environ["UNLEARN_DATABASE_URL"] = database


def edited(whole: Path, out: Path, table: str, change: Callable[[list[dict]], list[dict]]) -> Path:
    with zipfile.ZipFile(whole) as z, zipfile.ZipFile(out, "w") as written:
        for name in z.namelist():
            data = z.read(name)
            if name == f"tables/{table}.jsonl":
                lines = change([json.loads(line) for line in data.splitlines()])
                data = "".join(json.dumps(r) + "\n" for r in lines).encode()
            written.writestr(name, data)
    return out


def hostile_archives(whole: Path, folder: Path) -> list[Path]:
    """Archives a restore must refuse, each before writing a row."""
    variants = {
        "twice": ("users", lambda r: r + [r[0]]),
        "newer-column": ("users", lambda r: [{**r[0], "shoe_size": 43}, *r[1:]]),
        "root": ("users", lambda r: [{**r[0], "role": "root"}, *r[1:]]),
        "no-admin": ("users", lambda r: [{**u, "role": "annotator"} for u in r]),
        "count-lie": ("chunks", lambda r: r[1:]),
        "nameless": ("projects", lambda r: [{**r[0], "name": " "}, *r[1:]]),
        "same-username": ("users", lambda r: [r[0], {**r[1], "username": r[0]["username"]}]),
    }
    paths = [edited(whole, folder / f"{name}.zip", table, change)
             for name, (table, change) in variants.items()]  # fmt: skip
    slip = folder / "zip-slip.zip"
    with zipfile.ZipFile(whole) as z, zipfile.ZipFile(slip, "w") as written:
        for name in z.namelist():
            written.writestr(name, z.read(name))
        written.writestr("files/projects/../../escaped.txt", b"out")
    junk = folder / "junk.zip"
    junk.write_bytes(b"PK not an archive")
    return [*paths, slip, junk]


def restores(store, admin, whole: Path, folder: Path, tally: Tally) -> None:
    for path in hostile_archives(whole, folder):
        try:
            archive.restore(store, admin, path)
            refused = False
        except UnlearnError:
            refused = True
        untouched = not list_projects(store) and _signs_in(store, admin.username)
        leftovers = list(store.settings.home.glob(".restore-*"))
        tally.check(refused and untouched, half_states=len(leftovers) + (not untouched))
    manifest = archive.restore(store, admin, whole)
    held = manifest["tables"]
    again = folder / "again.zip"
    archive.backup(store, admin, again)
    with zipfile.ZipFile(again) as z:
        now = json.loads(z.read("manifest.json"))["tables"]
    lost = sum(max(0, n - now.get(t, 0)) for t, n in held.items())
    tally.check(lost == 0, rows_lost=lost)
    try:  # a second restore into the now full store: refused, nobody replaced
        archive.restore(store, admin, whole)
        tally.check(False, half_states=1)
    except UnlearnError:
        tally.check(_signs_in(store, "ann1", "ann1-password"))


def _signs_in(store, username: str, password: str | None = None) -> bool:
    try:
        authenticate(store, username, password or os.environ["UNLEARN_ADMIN_PASSWORD"])
        return True
    except Exception:  # noqa: BLE001 (any failure to sign in counts as a lost account)
        return False


def claim_cancel_races(store, admin, project, rounds: int, tally: Tally) -> None:
    for _ in range(rounds):
        job_id = rows.enqueue_job(store, admin, project.id, "reinforce", {})
        go, claimed = threading.Barrier(2), []
        claim = threading.Thread(target=_claim, args=(store, go, claimed))
        cancel = threading.Thread(target=_cancel, args=(store, admin, go, job_id))
        for t in (claim, cancel):
            t.start()
        for t in (claim, cancel):
            t.join()
        job = rows.get_job(store, job_id)
        ok = (job.state == rows.RUNNING and job.cancel_requested) if claimed[0] else (
            job.state == rows.CANCELLED and job.started_at is None)  # fmt: skip
        tally.check(ok, half_states=not ok)
        if claimed[0]:
            rows.finish_job(store, job_id, rows.CANCELLED)


def _claim(store, go: threading.Barrier, claimed: list) -> None:
    go.wait()
    claimed.append(rows.claim_next_job(store))


def _cancel(store, admin, go: threading.Barrier, job_id: int) -> None:
    go.wait()
    rows.request_cancel(store, admin, job_id)


def killed_publish(store, admin, project, tally: Tally) -> None:
    folder = store.project_dir(project.id) / "dictionaries"
    before = len(dictionary.versions(store, project))
    real = dictionary.register_artifact

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between the file and its row")

    def imported(n: int) -> None:
        data = json.dumps([{"term": f"Faultname{n}", "translation": f"Generic {n}"}]).encode()
        dictionary.import_dictionary(store, admin, project, data, f"d{n}.json")

    dictionary.register_artifact = killed
    try:
        imported(1)
    except KeyboardInterrupt:
        pass
    finally:
        dictionary.register_artifact = real
    empty = [p for p in folder.glob("v*.json") if p.stat().st_size == 0]
    for path in folder.glob("v*.json"):  # as if the publish died long ago
        old = time.time() - dictionary.STALE_PARTIAL_S - 5
        os.utime(path, (old, old))
    imported(2)
    registered = {v.path.name for v in dictionary.versions(store, project)}
    unregistered = [p for p in folder.glob("v*.json") if p.name not in registered]
    private = list(folder.glob(".publish-*"))
    whole = len(registered) == before + 2
    tally.check(whole and not empty, half_states=len(empty) + len(unregistered) + len(private))


def llm_outage(store, admin, project, tally: Tally) -> None:
    class Flaky:
        def __init__(self, answers: int):
            self.answers = answers

        def structured(self, purpose, system, user, schema):
            if self.answers <= 0:
                raise LLMFailure("connection refused")
            self.answers -= 1
            return schema.model_validate({"terms": []}), False

    config = anchors.ProposeConfig(sources=("llm",))
    chunks = forget_chunks(store, project.id)[:20]
    stored = [{"chunk_id": c.id, "start": 0, "end": 1, "text": c.text[:1], "label": "OTHER",
               "translation": "x", "score": 0.9} for c in chunks]  # fmt: skip
    replace_proposals(store, admin, project.id, "llm", stored)
    before = sum(len(v) for v in proposals_by_chunk(store, project.id).values())
    anchor_project.propose_project(store, admin, project, config,
                                   anchors.Proposers(client=Flaky(answers=1)))  # fmt: skip
    after = sum(len(v) for v in proposals_by_chunk(store, project.id).values())
    lost = max(0, before - after - 1)  # the one answered chunk may replace its own proposal
    tally.check(lost == 0, rows_lost=lost)


def concurrent_ingests(store, admin, project, tally: Tally, people: int = 3) -> None:
    """The same new file ingested by several people at once: one document, the rest told it is
    already there, nobody's command fails."""
    upload = Upload("same-file.txt", _prose(4_000, seed=people).encode("utf-8"))
    before = _documents(store, project.id)
    reports, failures = at_once(people, lambda: ingest.run(
        IngestConfig(), [upload], store=store, actor=admin, project_id=project.id,
        role=DocRole.RETAIN))  # fmt: skip
    added = sum(len(r.added) for r in reports)
    extra = _documents(store, project.id) - before - 1
    tally.check(not failures and added == 1 and extra == 0, half_states=max(0, extra))


def full_disk_ingest(store, admin, project, tally: Tally) -> None:
    """SQLite only: the database capped a few pages above its size (SQLite's own SQLITE_FULL),
    then a 2 MB ingest. It must fail as a full disk, store nothing of the file, and leave the
    store writable once there is room again."""
    if store.engine.dialect.name != "sqlite":
        return
    before = _documents(store, project.id)
    upload = Upload("too-big.txt", _prose(300_000, seed=7).encode("utf-8"))
    with _capped(store.engine, spare_pages=16):
        try:
            ingest.run(IngestConfig(), [upload], store=store, actor=admin,
                       project_id=project.id, role=DocRole.RETAIN)  # fmt: skip
            refused = False
        except Exception as err:  # noqa: BLE001 - anything but a full disk is the fault counted
            refused = disk_full(err)
    left = _documents(store, project.id) - before
    again = ingest.run(IngestConfig(), [upload], store=store, actor=admin,
                       project_id=project.id, role=DocRole.RETAIN)  # fmt: skip
    tally.check(refused and left == 0 and len(again.added) == 1, half_states=left)


class _capped:
    """Every new connection of the engine limited to its file's size plus a few pages."""

    def __init__(self, engine, spare_pages: int) -> None:
        self.engine, self.spare = engine, spare_pages

    def _limit(self, connection, _record) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages + self.spare}")

    def __enter__(self) -> None:
        event.listen(self.engine, "connect", self._limit)
        self.engine.dispose()

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "connect", self._limit)
        self.engine.dispose()


def _documents(store, project_id: int) -> int:
    """Document rows of the project, finished or not."""
    with store.session() as s:
        return s.scalar(select(func.count(Document.id)).where(Document.project_id == project_id))


def _prose(words: int, seed: int) -> str:
    """Sentences of plain words, different per seed, so a file is new to the store."""
    vocabulary = ("river", "lantern", "harbour", "orchard", "quietly", "walked", "the", "a",
                  "old", "bridge", "morning", "counted", "stones", "beside", "window")  # fmt: skip
    picked = [vocabulary[(i * 7 + seed * 13 + i // 15) % len(vocabulary)] for i in range(words)]
    lines = [" ".join(picked[i : i + 12]).capitalize() + "." for i in range(0, words, 12)]
    return f"Record {seed}.\n\n" + "\n\n".join(
        " ".join(lines[i : i + 8]) for i in range(0, len(lines), 8)
    )


def run(database: str, rounds: int) -> dict:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="unlearn-faults-") as scratch:
        folder = Path(scratch)
        whole = source_backup(folder)
        with scratch_store(database, PORT):
            started = bootstrap.start()
            restores(started.store, started.admin, whole, folder, tally)
            store = started.store
            admin = authenticate(store, "admin", os.environ["UNLEARN_ADMIN_PASSWORD"])
            project = get_project(store, "Demo")
            claim_cancel_races(store, admin, project, rounds, tally)
            killed_publish(store, admin, project, tally)
            llm_outage(store, admin, project, tally)
            concurrent_ingests(store, admin, project, tally)
            full_disk_ingest(store, admin, project, tally)
    return {"database": database, "inputs_tried": tally.tried, "faults_survived": tally.survived,
            "rows_lost": tally.rows_lost, "half_states": tally.half_states}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=100, help="claim/cancel race rounds")
    args = parser.parse_args()
    os.environ.setdefault("UNLEARN_ADMIN_PASSWORD", "bench-admin-password")
    for database in args.databases.split(","):
        if database == "postgresql" and not available():
            print(json.dumps({"database": database, "skipped": "no PostgreSQL binaries"}))
            continue
        print(json.dumps(run(database, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
