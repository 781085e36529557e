"""Propose a project's anchor terms: gather its chunks and reference text, run, store the spans."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from pipelines.anchors import dictionary, label_studio
from pipelines.anchors import propose as anchors
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.anchors import forget_chunks, proposals_by_chunk, replace_proposals
from pipelines.store.documents import project_texts
from pipelines.store.projects import (
    ProjectInfo,
    list_artifacts,
    register_artifact,
    submissions_of_kind,
)
from pipelines.types import Actor, ArtifactKind, DocRole, UnlearnError
from pipelines.whp import project as whp


def project_chunks(store: Store, project: ProjectInfo) -> list[anchors.ChunkText]:
    chunks = [anchors.ChunkText(c.id, c.text) for c in forget_chunks(store, project.id)]
    if not chunks:
        raise UnlearnError(f"Project {project.name!r} has no forget documents to propose from.")
    return chunks


def stored_translations(store: Store, project: ProjectInfo, skip: set[str]) -> dict[str, str]:
    """term -> translation already proposed by sources this run does not replace."""
    out: dict[str, str] = {}
    for spans in proposals_by_chunk(store, project.id).values():
        for span in spans:
            if span["source"] not in skip:
                out.setdefault(span["text"], span["translation"])
    return out


def signal_models(store: Store, project: ProjectInfo):
    """Baseline and newest reinforced model, for the WHP signal proposer."""
    return whp.label_models(store, project, whp.latest_reinforced(store, project))


def propose_project(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    config: anchors.ProposeConfig,
    deps: anchors.Proposers | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    checkpoint: anchors.Checkpoint | None = None,
) -> anchors.ProposeResult:
    """Run the proposers, replace each source's stored spans, and keep a report of the run.
    Terms a reviewer settled follow the settlement; rejected ones are not proposed again.
    The permission is checked first: a refused run makes no LLM request."""
    authorize(store, actor, "anchors.propose")
    deps = deps or anchors.Proposers()
    if not deps.reference_texts:
        deps.reference_texts = project_texts(store, project.id, DocRole.RETAIN)
    if "llm" in config.sources and deps.client is None:
        from pipelines.llm import client_from_env
        from pipelines.store.llm_calls import StoredCallLog

        deps.client = client_from_env(StoredCallLog(store))
    if "signal" in config.sources and deps.models is None:
        deps.models = signal_models(store, project)
    result = anchors.run(
        config,
        project_chunks(store, project),
        deps,
        existing_translations=stored_translations(store, project, set(config.sources)),
        settled=dictionary.settlements(store, project),
        target=project.target_description,
        progress=progress,
        checkpoint=checkpoint,
    )
    stored = proposals_by_chunk(store, project.id)
    for source, spans in result.spans.items():
        rows = [s.row() for s in spans] + kept_for_unanswered(stored, source, result.failures)
        replace_proposals(store, actor, project.id, source, rows)
    _save_report(store, actor, project, config, result)
    return result


def kept_for_unanswered(stored: dict[int, list[dict]], source: str, failures) -> list[dict]:
    """The stored spans of a source's chunks this run got no answer for: a run replaces only
    what it completed, so an outage midway loses nothing."""
    unanswered = {f["chunk_id"] for f in failures if f["source"] == source and f.get("unanswered")}
    return [
        {k: v for k, v in span.items() if k != "source"} | {"chunk_id": chunk_id}
        for chunk_id, spans in stored.items() if chunk_id in unanswered
        for span in spans if span["source"] == source
    ]  # fmt: skip


def _save_report(store, actor, project, config, result: anchors.ProposeResult) -> None:
    folder = store.project_dir(project.id) / "anchors"
    folder.mkdir(exist_ok=True)
    path = folder / f"proposals-{whp.stamp()}.json"
    report = {
        "config": asdict(config),
        "counts": result.counts(),
        "failures": result.failures,
        "cached_calls": result.cached_calls,
    }
    path.write_text(json.dumps(report, indent=1))
    register_artifact(
        store,
        actor,
        project.id,
        ArtifactKind.ANCHOR_PROPOSALS,
        path,
        counts=result.counts(),
        failures=len(result.failures),
    )


def latest_report(store: Store, project: ProjectInfo) -> dict | None:
    found = list_artifacts(store, project.id, ArtifactKind.ANCHOR_PROPOSALS)
    return json.loads(found[0].path.read_text()) if found else None


# ---------- Label Studio round trip: the adapter moves tasks, this side reads and writes the store


@dataclass
class PullResult:
    stored: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)


def push_to_label_studio(client, project: ProjectInfo, store: Store) -> label_studio.PushResult:
    """A Label Studio task per forget chunk not there yet, prefilled with its merged proposals."""
    proposals = proposals_by_chunk(store, project.id)
    chunks = [
        (c.id, c.text, anchors.merge(proposals.get(c.id, [])))
        for c in forget_chunks(store, project.id)
    ]
    return label_studio.push(client, project.name, project.target_description, chunks)


def pull_from_label_studio(
    client,
    project: ProjectInfo,
    store: Store,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
) -> PullResult:
    """Store each new or changed Label Studio annotation as its annotator's own submission."""
    pulled = label_studio.pull(client, project.name)
    seen = {
        (row.payload.get("ls_annotation_id"), row.payload.get("ls_updated_at"))
        for row in submissions_of_kind(store, project.id, dictionary.CHUNK_KIND)
    }
    texts = {c.id: c.text for c in forget_chunks(store, project.id)}
    result = PullResult()
    for i, ann in enumerate(pulled):
        if progress:
            progress(i, len(pulled))
        if (ann.annotation_id, ann.updated_at) in seen:
            result.unchanged += 1
        elif ann.chunk_id not in texts:
            result.failures.append(f"annotation {ann.annotation_id}: chunk {ann.chunk_id} is gone")
        else:
            _store_pulled(store, actor, project, texts[ann.chunk_id], ann, result)
    return result


def _store_pulled(store, actor, project, text: str, ann: label_studio.Pulled, result: PullResult):
    try:
        dictionary.submit_chunk(
            store, actor, project, ann.chunk_id, text, ann.spans,
            annotator=ann.annotator, origin="label_studio",
            ls_annotation_id=ann.annotation_id, ls_updated_at=ann.updated_at,
        )  # fmt: skip
        result.stored += 1
    except UnlearnError as err:
        result.failures.append(f"annotation {ann.annotation_id}: {err}")
