"""Propose a project's anchor terms: gather its chunks and reference text, run, store the spans."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from pipelines import anchors, whp
from pipelines.store import Store
from pipelines.store.anchors import forget_chunks, proposals_by_chunk, replace_proposals
from pipelines.store.documents import project_texts
from pipelines.store.projects import ProjectInfo, list_artifacts, register_artifact
from pipelines.types import Actor, DocRole, UnlearnError

PROPOSAL_RUN = "anchor_proposals"


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
) -> anchors.ProposeResult:
    """Run the proposers, replace each source's stored spans, and keep a report of the run."""
    deps = deps or anchors.Proposers()
    if not deps.reference_texts:
        deps.reference_texts = project_texts(store, project.id, DocRole.RETAIN)
    if "llm" in config.sources and deps.client is None:
        from pipelines.llm import client_from_env

        deps.client = client_from_env(store)
    if "signal" in config.sources and deps.models is None:
        deps.models = signal_models(store, project)
    result = anchors.run(
        config,
        project_chunks(store, project),
        deps,
        existing_translations=stored_translations(store, project, set(config.sources)),
        target=project.target_description,
        progress=progress,
    )
    for source, spans in result.spans.items():
        replace_proposals(store, actor, project.id, source, [s.row() for s in spans])
    _save_report(store, actor, project, config, result)
    return result


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
        PROPOSAL_RUN,
        path,
        counts=result.counts(),
        failures=len(result.failures),
    )


def latest_report(store: Store, project: ProjectInfo) -> dict | None:
    found = list_artifacts(store, project.id, PROPOSAL_RUN)
    return json.loads(found[0].path.read_text()) if found else None
