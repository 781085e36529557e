"""Project-level WHP steps: reinforce a project's base model, generate its label sets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from pipelines import models, strict_json
from pipelines.config import ModelConfig
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.documents import project_texts
from pipelines.store.projects import (
    ArtifactInfo,
    ProjectInfo,
    list_artifacts,
    register_artifact,
    submissions_of_kind,
    submit_many,
)
from pipelines.training.loop import TrainControl, is_main_process
from pipelines.types import Actor, ArtifactKind, DocRole, UnlearnError
from pipelines.whp import labels as generic_labels
from pipelines.whp import reinforce
from pipelines.whp import review as label_review


def load_dictionary(path: Path) -> dict[str, str]:
    """{term: translation}, a list of {"term", "translation"} records, or a published version."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UnlearnError(f"Could not read the dictionary {path}: {err}") from None
    data = strict_json.loads(text, f"The dictionary {path}")
    if isinstance(data, dict) and isinstance(data.get("terms"), list):  # a published version
        data = data["terms"]
    if isinstance(data, list):
        data = {row.get("term"): row.get("translation") for row in data if isinstance(row, dict)}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in data.items()
    ):
        raise UnlearnError(f"{path}: expected term → translation strings.")
    return data


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def forget_texts(store: Store, project: ProjectInfo) -> list[str]:
    texts = project_texts(store, project.id, DocRole.FORGET)
    if not texts:
        raise UnlearnError(f"Project {project.name!r} has no forget documents yet.")
    return texts


def starting_model(store: Store, project: ProjectInfo) -> str:
    """The model every stage starts from: the newest taught model if any, else the base."""
    taught = list_artifacts(store, project.id, ArtifactKind.TAUGHT)
    return str(taught[0].path) if taught else project.base_model


def load_base(store: Store, project: ProjectInfo) -> models.LoadedModel:
    source = starting_model(store, project)
    return models.load(ModelConfig(source=source), models_dir=store.settings.models_dir)


def reinforce_project(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    config: reinforce.ReinforceConfig,
    *,
    control: TrainControl | None = None,
) -> int:
    """Train the starting model further on the forget corpus; returns the new artefact's id."""
    return _train_on_forget_text(store, actor, project, config, ArtifactKind.REINFORCED, control)


def teach_project(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    config: reinforce.ReinforceConfig,
    *,
    control: TrainControl | None = None,
) -> int:
    """Demo only: teach the base model the forget corpus, so that it has something to forget.

    The taught model becomes the project's starting model for every later stage.
    """
    return _train_on_forget_text(store, actor, project, config, ArtifactKind.TAUGHT, control)


def _train_on_forget_text(store, actor, project, config, kind: str, control) -> int:
    authorize(store, actor, "artifact.register")
    stage = "teach" if kind == ArtifactKind.TAUGHT else "reinforce"
    texts = forget_texts(store, project)
    start = (
        starting_model(store, project) if kind == ArtifactKind.REINFORCED else project.base_model
    )
    base = models.load(ModelConfig(source=start), models_dir=store.settings.models_dir)
    out_dir = store.project_dir(project.id) / "models" / f"{kind.split('_')[0]}-{stamp()}"
    facts = {"project": project.name, "what it learned": project.target_description}
    result = reinforce.run(
        config,
        texts,
        model=base.model,
        tokenizer=base.tokenizer,
        out_dir=out_dir,
        control=control,
        stage=stage,
        card_facts=facts | {"starting model": start},
    )
    if not is_main_process():
        return 0
    return register_artifact(
        store,
        actor,
        project.id,
        kind,
        out_dir,
        base_model=start,
        tokens=result.tokens,
        config=asdict(config),
        first_loss=result.losses[0],
        last_loss=result.losses[-1],
    )


def latest_reinforced(store: Store, project: ProjectInfo) -> Path:
    found = list_artifacts(store, project.id, ArtifactKind.REINFORCED)
    if not found:
        raise UnlearnError(
            f"Project {project.name!r} has no reinforced model; run reinforce first."
        )
    return found[0].path


def label_models(store: Store, project: ProjectInfo, reinforced_dir: Path) -> generic_labels.Models:
    base = load_base(store, project)
    reinforced = models.load(
        ModelConfig(source=str(reinforced_dir)), models_dir=store.settings.models_dir
    )
    return generic_labels.Models(
        base.model, reinforced.model.to(base.device), base.tokenizer, base.device
    )


LABEL_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def label_set_folder(name: str | None) -> str:
    """A label set's folder name: the one asked for (letters, digits, . _ -, so it stays inside
    the project), else a time stamp."""
    if not name:
        return f"labels-{stamp()}"
    if not LABEL_SET_NAME.fullmatch(name):
        raise UnlearnError(
            f"Label set name {name!r}: use up to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def generate_project_labels(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    dictionary: dict[str, str],
    config: generic_labels.LabelConfig,
    *,
    out_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    review_progress: Callable[[int, int], None] | None = None,
    compare_block: int | None = None,
) -> tuple[int | None, dict]:
    """Run label generation (resuming a same-named run) and register the label set."""
    authorize(store, actor, "artifact.register")
    reinforced_dir = latest_reinforced(store, project)
    out_dir = store.project_dir(project.id) / "labels" / label_set_folder(out_name)
    meta = {"base_model": starting_model(store, project), "reinforced_model": str(reinforced_dir)}
    texts, pair = forget_texts(store, project), label_models(store, project, reinforced_dir)
    summary = generic_labels.run(
        config, texts, dictionary, models=pair, out_dir=out_dir, meta=meta, progress=progress
    )
    if not is_main_process():  # under accelerate launch: one process reviews and registers
        return None, summary
    summary["review_items"] = label_review.build_review_items(
        config,
        texts,
        dictionary,
        models=pair,
        label_dir=out_dir,
        threshold=summary["review_threshold"],
        progress=review_progress,
    )
    if compare_block is not None:
        rows = generic_labels.inspect_block(
            config, texts, dictionary, models=pair, block_index=compare_block
        )
        lines = (json.dumps(row, ensure_ascii=False) for row in rows)
        (out_dir / f"compare_block_{compare_block}.jsonl").write_text("\n".join(lines) + "\n")
    artifact = register_artifact(
        store,
        actor,
        project.id,
        ArtifactKind.LABEL_SET,
        out_dir,
        **meta,
        config=asdict(config),
        summary=summary,
        dictionary_terms=len(dictionary),
    )
    return artifact, summary


def _review_kind(label_set_id: int) -> str:
    return f"label_review:{label_set_id}"


def record_review(
    store: Store, actor: Actor, project: ProjectInfo, label_set_id: int, item_id: int, payload: dict
) -> int:
    """One reviewer's accept / reject / edit on one review item, stored as their own row."""
    return record_reviews(store, actor, project, label_set_id, [item_id], payload)[0]


def record_reviews(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    label_set_id: int,
    item_ids: Sequence[int],
    payload: dict,
) -> list[int]:
    """One reviewer's same decision on many items (accept or reject by filter), stored at once."""
    decision = label_review.check_decision(payload)
    return submit_many(
        store,
        actor,
        project.id,
        _review_kind(label_set_id),
        dict.fromkeys(item_ids, decision),
        action="review.submit",
    )


def review_decisions(store: Store, project: ProjectInfo, label_set_id: int) -> dict[int, dict]:
    """The decision in force per item: the newest, whoever made it, less withdrawn ones."""
    return {item: payload for item, (_, payload) in _in_force(store, project, label_set_id).items()}


def reviewed_by(store: Store, project: ProjectInfo, label_set_id: int, user_id: int) -> set[int]:
    """The items on which this reviewer has a decision they have not withdrawn."""
    rows = submissions_of_kind(store, project.id, _review_kind(label_set_id))
    mine = label_review.decisions_in_force([(r.item_id, 0, r.payload) for r in rows
                                            if r.user_id == user_id])  # fmt: skip
    return set(mine)


def _in_force(store: Store, project: ProjectInfo, label_set_id: int) -> dict:
    rows = submissions_of_kind(store, project.id, _review_kind(label_set_id))
    return label_review.decisions_in_force([(r.item_id, r.user_id, r.payload) for r in rows])


def label_set_dictionary(label_set: ArtifactInfo) -> dict[str, str]:
    """The dictionary a label set was generated with, as recorded in its manifest."""
    return json.loads((label_set.path / "manifest.json").read_text())["dictionary"]


def label_sets(store: Store, project: ProjectInfo) -> list[ArtifactInfo]:
    return list_artifacts(store, project.id, ArtifactKind.LABEL_SET)


def find_label_set(store: Store, project: ProjectInfo, artifact_id: int | None) -> ArtifactInfo:
    """The label set with this artefact id, or the newest one."""
    sets = label_sets(store, project)
    chosen = [a for a in sets if artifact_id in (None, a.id)]
    if not chosen:
        which = f"label set {artifact_id}" if artifact_id else "label set"
        raise UnlearnError(f"Project {project.name!r} has no {which}; run the labels stage first.")
    return chosen[0]


def export_project_labels(
    store: Store, project: ProjectInfo, label_set: ArtifactInfo
) -> tuple[Path, dict]:
    """Write the label set with every review decision applied, for the fine-tuning stage."""
    tokenizer = models.load_tokenizer(project.base_model, models_dir=store.settings.models_dir)
    out_path = label_set.path / "export.npz"
    counts = label_review.export_labels(
        label_set.path, review_decisions(store, project, label_set.id), tokenizer, out_path
    )
    return out_path, counts
