"""A project's pipeline as a checklist: each step, whether it is done, and who it waits on."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.anchors import dictionary
from pipelines.evaluation import judge_review
from pipelines.store import Store
from pipelines.store.anchors import forget_chunks, proposals_by_chunk
from pipelines.store.projects import ProjectInfo, list_artifacts
from pipelines.types import ArtifactKind
from pipelines.whp import project as whp

# The steps, people's included, in the pipeline's order.
ORDER = (
    "upload documents", "propose anchors", "annotate", "settle conflicts",
    "publish the dictionary", "reinforce", "generic labels", "review labels", "unlearn",
    "evaluate", "check verdicts",
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    name: str
    done: bool
    detail: str
    who: str  # the role it waits on
    where: str  # the page (or command) that does it


def checklist(store: Store, project: ProjectInfo) -> list[Step]:
    """The steps in order; the first one not done is what comes next."""
    artifacts = {kind: list_artifacts(store, project.id, kind) for kind in ArtifactKind}
    n_chunks = len(forget_chunks(store, project.id))
    proposed = len(proposals_by_chunk(store, project.id))
    submitted = len(dictionary.latest_by_annotator(store, project))
    terms = dictionary.consolidate(store, project)
    n_conflicts, versions = len(dictionary.conflicts(terms)), dictionary.versions(store, project)
    label_sets = artifacts[ArtifactKind.LABEL_SET]
    decided = len(whp.review_decisions(store, project, label_sets[0].id)) if label_sets else 0
    evaluations = artifacts[ArtifactKind.EVALUATION]
    verdicts = len(judge_review.decisions(store, project, evaluations[0].id)) if evaluations else 0

    def made(kind: ArtifactKind, what: str) -> tuple[bool, str]:
        found = artifacts[kind]
        return bool(found), f"{len(found)} {what}" if found else f"no {what} yet"

    return [
        Step(ORDER[0], n_chunks > 0, f"{n_chunks} chunks of forget text" if n_chunks else
             "no forget documents yet", "researcher", "Projects → Upload"),
        Step(ORDER[1], proposed > 0, f"{proposed} of {n_chunks} chunks have proposals",
             "researcher", "Anchor dictionary → Proposals"),
        Step(ORDER[2], submitted > 0, f"{submitted} of {n_chunks} chunks submitted",
             "annotators", "Anchor terms"),
        Step(ORDER[3], submitted > 0 and n_conflicts == 0,
             f"{n_conflicts} open conflict(s)", "reviewers", "Anchor dictionary → Conflicts"),
        Step(ORDER[4], bool(versions),
             f"v{versions[0].version}, {versions[0].n_terms} terms" if versions
             else "not published yet",
             "researcher", "Anchor dictionary → Versions"),
        Step(ORDER[5], *made(ArtifactKind.REINFORCED, "reinforced model(s)"),
             "researcher", "Runs"),
        Step(ORDER[6], *made(ArtifactKind.LABEL_SET, "label set(s)"), "researcher", "Runs"),
        Step(ORDER[7], decided > 0, f"{decided} low-confidence labels decided",
             "reviewers", "Generic labels"),
        Step(ORDER[8], *made(ArtifactKind.UNLEARNED, "unlearned model(s)"), "researcher", "Runs"),
        Step(ORDER[9], *made(ArtifactKind.EVALUATION, "evaluation(s)"), "researcher", "Runs"),
        Step(ORDER[10], verdicts > 0, f"{verdicts} judge verdicts checked", "reviewers",
             "Judge verdicts"),
    ]  # fmt: skip


def next_step(steps: list[Step]) -> Step | None:
    return next((step for step in steps if not step.done), None)
