"""Generated passages on a project: written as a job, reviewed by people, approved ones added
to the forget set (where translation and labels treat them like the book's own text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

from pipelines import models
from pipelines.anchors import dictionary
from pipelines.augment import passages as gen
from pipelines.config import IngestConfig, ModelConfig
from pipelines.corpus import ingest
from pipelines.evaluation.evaluate import EvalConfig, complete
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.documents import document_text, list_documents
from pipelines.store.projects import (
    ProjectInfo,
    list_artifacts,
    register_artifact,
    submissions_of_kind,
    submit,
)
from pipelines.store.users import usernames
from pipelines.types import Actor, ArtifactKind, DocRole, UnlearnError
from pipelines.whp import project as whp

DOCUMENT_PREFIX = "generated-passages-set"  # the forget documents approved passages become
DECISIONS = ("approve", "reject", "edit")
SYSTEM = "You write about works of fiction for readers who know them well. Plain prose, no lists."


def _review_kind(set_id: int) -> str:
    return f"passage_review:{set_id}"


def book_texts(store: Store, project: ProjectInfo) -> list[str]:
    """The forget text people uploaded, without the passages already generated from it."""
    docs = list_documents(store, project.id, DocRole.FORGET)
    own = [d for d in docs if not d.source_name.startswith(DOCUMENT_PREFIX)]
    if not own:
        raise UnlearnError(f"Project {project.name!r} has no forget documents yet.")
    return [document_text(store, d.id) for d in own]


def _model_writer(store: Store, project: ProjectInfo, config: gen.PassageConfig):
    loaded = models.load(ModelConfig(source=whp.starting_model(store, project)),
                         models_dir=store.settings.models_dir)  # fmt: skip
    settings = EvalConfig(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                          seed=config.seed)  # fmt: skip
    return lambda batch: complete(loaded.model, loaded.tokenizer, [r.prompt for r in batch],
                                  settings, sample=True)  # fmt: skip


def _llm_writer(store: Store):
    from pipelines.evaluation.project import llm_client

    client = llm_client(store, "Passages written by an LLM")

    def write_batch(batch: Sequence[gen.Request]) -> list[str]:
        return [client.structured("augment.passage", SYSTEM, r.instruction,
                                  gen.WrittenPassage)[0].text for r in batch]  # fmt: skip

    return write_batch


def generate(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    config: gen.PassageConfig,
    checkpoint: Path,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write passages about the dictionary's most used terms; a resumed job keeps the passages
    in `checkpoint` and writes only the rest. Returns (artefact id, passages)."""
    authorize(store, actor, "artifact.register")
    published = dictionary.versions(store, project)
    if not published:
        raise UnlearnError("Publish a dictionary first: passages are written about its terms.")
    terms = list(dictionary.as_mapping(dictionary.read_version(published[0].path)))
    chosen = gen.subjects(book_texts(store, project), terms, config.subjects)
    title = project.target_description or project.name
    todo = gen.requests(title, chosen, config)
    done = gen.read_passages(checkpoint.read_bytes()) if checkpoint.exists() else []
    seen = {p.key for p in done}
    writer = _model_writer(store, project, config) if config.source == "model" else (
        _llm_writer(store))  # fmt: skip

    def keep(made: list[gen.Passage]) -> None:
        with checkpoint.open("ab") as f:
            f.write(gen.write_passages(made))

    remaining = [r for r in todo if r.key not in seen]
    for start in range(0, len(remaining), 8):
        made = gen.write(remaining[start : start + 8], config, writer)
        keep(made)
        done += made
        if progress:
            progress(len(todo) - len(remaining) + min(start + 8, len(remaining)), len(todo))
    return save(store, actor, project, done, config.source), len(done)


def save(store, actor, project: ProjectInfo, passages: Sequence[gen.Passage], source: str) -> int:
    if not passages:
        raise UnlearnError("No passage was long enough to keep; ask for longer passages.")
    folder = store.project_dir(project.id) / "passages"
    folder.mkdir(exist_ok=True)
    path = folder / f"passages-{whp.stamp()}-{uuid4().hex[:6]}.jsonl"
    path.write_bytes(gen.write_passages(passages))
    return register_artifact(store, actor, project.id, ArtifactKind.PASSAGE_SET, path,
                             source=source, passages=len(passages))  # fmt: skip


def passage_sets(store: Store, project: ProjectInfo):
    return list_artifacts(store, project.id, ArtifactKind.PASSAGE_SET)


def review(store, actor, project: ProjectInfo, set_id: int, index: int, decision: str, text=""):
    """One reviewer's approve / reject / edit of one passage, stored as their own row."""
    if decision not in DECISIONS:
        raise UnlearnError(f"A decision is one of {', '.join(DECISIONS)}.")
    if decision == "edit" and len(text.split()) < 5:
        raise UnlearnError("An edited passage needs some text (five words or more).")
    if not 0 <= index < len(_stored(store, project, set_id)):
        raise UnlearnError(f"Passage set {set_id} has no passage {index + 1}.")
    payload = {"decision": decision, "text": text.strip() if decision == "edit" else ""}
    return submit(store, actor, project.id, _review_kind(set_id), index, payload,
                  action="review.submit")  # fmt: skip


def _stored(store: Store, project: ProjectInfo, set_id: int) -> list[gen.Passage]:
    found = {a.id: a for a in passage_sets(store, project)}
    if set_id not in found:
        raise UnlearnError(f"Project {project.name!r} has no passage set {set_id}.")
    return gen.read_passages(found[set_id].path.read_bytes())


@dataclass(frozen=True)
class Reviewed:
    passage: gen.Passage
    reviewer: str | None
    reviewed_at: object


def in_force(store: Store, project: ProjectInfo, set_id: int) -> list[Reviewed]:
    """Every passage with the newest decision on it, who made it and when."""
    rows = submissions_of_kind(store, project.id, _review_kind(set_id))
    newest = {row.item_id: row for row in rows}
    names = usernames(store)
    decided = gen.with_decisions(_stored(store, project, set_id),
                                 {i: row.payload for i, row in newest.items()})  # fmt: skip
    return [Reviewed(p, names.get(newest[i].user_id) if i in newest else None,
                     newest[i].created_at if i in newest else None)
            for i, p in enumerate(decided)]  # fmt: skip


def add_approved(store: Store, actor: Actor, project: ProjectInfo, set_id: int) -> int:
    """Add the approved passages not yet in the forget set as one forget document; rejected and
    pending ones never go there. Returns how many were added."""
    approved = [r.passage.text for r in in_force(store, project, set_id)
                if r.passage.status == "approved"]  # fmt: skip
    name = f"{DOCUMENT_PREFIX}{set_id}"
    there = "\n\n".join(document_text(store, d.id)
                        for d in list_documents(store, project.id, DocRole.FORGET)
                        if d.source_name.startswith(name))  # fmt: skip
    new = [text for text in approved if text not in there]
    if new:
        count = sum(d.source_name.startswith(name)
                    for d in list_documents(store, project.id, DocRole.FORGET))  # fmt: skip
        upload = ingest.Upload(f"{name}-{count + 1}.txt", "\n\n".join(new).encode())
        ingest.run(IngestConfig(), [upload], store=store, actor=actor, project_id=project.id,
                   role=DocRole.FORGET)  # fmt: skip
    return len(new)
