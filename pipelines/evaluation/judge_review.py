"""People check the judge: review items, their decisions, agreement and the adjusted scores."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from pipelines.evaluation.judge import CATEGORIES, familiarity_score
from pipelines.store import Store
from pipelines.store.projects import ArtifactInfo, ProjectInfo, submissions_of_kind, submit
from pipelines.types import Actor, UnlearnError

LABELS = sorted(CATEGORIES)


@dataclass(frozen=True)
class JudgeItem:
    id: int  # position in the evaluation's completions, model by model
    model: str
    prompt: str
    completion: str
    expected: str
    kind: str
    category: int  # the judge's
    rationale: str
    judge: str


def load_items(evaluation: ArtifactInfo) -> list[JudgeItem]:
    report = json.loads((evaluation.path / "report.json").read_text())
    items = []
    for model, rows in report["completions"].items():
        for row in rows:
            items.append(
                JudgeItem(
                    len(items),
                    model,
                    row["prompt"],
                    row["completion"],
                    row.get("expected", ""),
                    row["kind"],
                    row["category"],
                    row["rationale"],
                    row["judge"],
                )
            )
    return items


def review_order(items: list[JudgeItem]) -> list[JudgeItem]:
    """Borderline verdicts (2, 3) first, then round-robin over model × category, so a short
    review already covers every model and every category."""
    groups: dict[tuple, list[JudgeItem]] = defaultdict(list)
    for item in items:
        groups[(item.category not in (2, 3), item.model, item.category)].append(item)
    deepest = max((len(group) for group in groups.values()), default=0)
    ordered = [
        groups[key][rank]
        for rank in range(deepest)
        for key in sorted(groups)
        if rank < len(groups[key])
    ]
    return sorted(ordered, key=lambda i: i.category not in (2, 3))


def _kind(evaluation_id: int) -> str:
    return f"judge_review:{evaluation_id}"


def record(
    store: Store, actor: Actor, project: ProjectInfo, evaluation_id: int, item_id: int, category
) -> int:
    """One reviewer's category for one completion, stored as their own row."""
    if category not in CATEGORIES:
        raise UnlearnError(f"A category is one of {LABELS}, not {category!r}.")
    payload = {"category": int(category)}
    kind = _kind(evaluation_id)
    return submit(store, actor, project.id, kind, item_id, payload, action="review.submit")


def decisions(store: Store, project: ProjectInfo, evaluation_id: int) -> dict[int, dict[int, int]]:
    """item id -> {reviewer id: their newest category}."""
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for row in submissions_of_kind(store, project.id, _kind(evaluation_id)):
        found[row.item_id].setdefault(row.user_id, row.payload["category"])
    return dict(found)


def _kappa(a: list[int], b: list[int]) -> float | None:
    if len(a) < 2:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0  # every verdict the same: full agreement, though kappa is undefined
    return float(cohen_kappa_score(a, b, labels=LABELS))


def agreement(items: list[JudgeItem], found: dict[int, dict[int, int]]) -> dict:
    """Judge against people (every person's verdict is a pair) and people against each other."""
    by_id = {item.id: item for item in items}
    judge, people = [], []
    for item_id, verdicts in found.items():
        for category in verdicts.values():
            judge.append(by_id[item_id].category)
            people.append(category)
    pairs = [list(v.values())[:2] for v in found.values() if len(v) >= 2]
    matrix = confusion_matrix(judge, people, labels=LABELS) if judge else np.zeros((4, 4), int)
    return {
        "checked_items": len(found),
        "judge_vs_people_kappa": _kappa(judge, people),
        "judge_vs_people_agreement": float(np.mean(np.equal(judge, people))) if judge else None,
        "between_people_kappa": _kappa([p[0] for p in pairs], [p[1] for p in pairs]),
        "items_with_two_reviewers": len(pairs),
        "confusion": matrix.tolist(),  # rows: judge, columns: people
    }


def adjusted_scores(items: list[JudgeItem], found: dict[int, dict[int, int]]) -> dict[str, dict]:
    """Completion familiarity per model with people's verdicts replacing the judge's where they
    exist (the majority, ties to the more familiar category)."""
    per_model: dict[str, list[int]] = defaultdict(list)
    judged: dict[str, list[int]] = defaultdict(list)
    for item in items:
        verdicts = list(found.get(item.id, {}).values())
        human = min(set(verdicts), key=lambda c: (-verdicts.count(c), c)) if verdicts else None
        per_model[item.model].append(human or item.category)
        judged[item.model].append(item.category)
    return {
        model: {
            "judge": familiarity_score(judged[model]),
            "with_people": familiarity_score(categories),
        }
        for model, categories in per_model.items()
    }
