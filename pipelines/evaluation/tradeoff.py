"""The trade-off of every run of a project: forgetting against utility, with the Pareto front.

Each unlearned model a project has evaluated is one point: how much probability familiarity fell
and how much retain perplexity rose, both against that evaluation's baseline. A point is on the
front when no other run forgot more at no greater cost in perplexity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields

import pandas as pd
import plotly.express as px

from pipelines.config import readable_name
from pipelines.store import Store
from pipelines.store.projects import ProjectInfo, list_artifacts
from pipelines.training.unlearn import UnlearnConfig
from pipelines.types import ArtifactKind

FORGETTING = "familiarity drop (%)"
COST = "retain perplexity change (%)"


def run_settings(config: dict) -> dict:
    """The settings that tell runs apart: method, rate, epochs and the method's own terms."""
    train = config.get("train", {})
    method = config.get("method", "whp")
    found = {"method": method, "lr": train.get("lr"), "epochs": train.get("epochs")}
    found["retain weight"] = config.get("retain_weight")
    own = {f.name for f in fields(UnlearnConfig) if method in f.metadata.get("methods", ())}
    own.discard("retain_weight")
    return found | {readable_name(k): v for k, v in config.items() if k in own}


def points(evaluations: Iterable[tuple[int, dict]], unlearned: dict[str, tuple[int, dict]]):
    """One row per evaluated unlearned model (newest evaluation wins).

    `evaluations`: (artefact id, report) newest first; `unlearned`: model folder → (artefact id,
    its registered config).
    """
    rows: dict[str, dict] = {}
    for evaluation_id, report in evaluations:
        sources = report["meta"].get("sources", {})
        for model in report["models"][1:]:
            drop, cost = model.get("prob_familiarity_change"), model.get("retain_ppl_change")
            source = sources.get(model["name"], model["name"])
            if drop is None or cost is None or source in rows:
                continue
            artefact, config = unlearned.get(source, (None, {}))
            rows[source] = {
                "model": f"unlearned #{artefact}" if artefact else model["name"],
                FORGETTING: -100 * drop,
                COST: 100 * cost,
                "baseline": report["baseline"],
                "evaluation": evaluation_id,
                **run_settings(config),
                "settings": json.dumps(config, sort_keys=True),
            }
    frame = pd.DataFrame(list(rows.values()))
    if not frame.empty:
        frame["on the front"] = pareto_front(frame[FORGETTING], frame[COST])
    return frame


def pareto_front(forgetting: Iterable[float], cost: Iterable[float]) -> list[bool]:
    """True where no other point forgets at least as much at no more cost, and beats it in one."""
    pairs = list(zip(forgetting, cost, strict=True))
    return [
        not any(f2 >= f and c2 <= c and (f2 > f or c2 < c) for f2, c2 in pairs) for f, c in pairs
    ]


def figure(frame: pd.DataFrame):
    """Forgetting up, perplexity cost right; the front joined by a line; settings on hover."""
    hover = ["model", "lr", "epochs", "retain weight", "baseline", "evaluation"]
    frame = frame.assign(place=frame["on the front"].map({True: "front", False: "behind"}))
    shown = px.scatter(frame, x=COST, y=FORGETTING, color="method", symbol="place",
                       symbol_map={"front": "star", "behind": "circle"}, hover_data=hover,
                       custom_data=["model"], labels={"lr": "learning rate"},
                       title="every evaluated run: forgetting against perplexity cost")  # fmt: skip
    front = frame[frame["on the front"]].sort_values(COST)
    shown.add_scatter(x=front[COST], y=front[FORGETTING], mode="lines", name="Pareto front",
                      line={"dash": "dot", "color": "grey"}, hoverinfo="skip")  # fmt: skip
    shown.update_traces(marker={"size": 12}, selector={"mode": "markers"})
    shown.update_layout(height=420)
    return shown


def project_points(store: Store, project: ProjectInfo) -> pd.DataFrame:
    """Every evaluated unlearned model of the project, from the stored reports and configs."""
    unlearned: dict[str, tuple[int, dict]] = {}
    for artefact in list_artifacts(store, project.id, ArtifactKind.UNLEARNED):
        found = (artefact.id, artefact.meta.get("config", {}))
        unlearned[str(artefact.path)] = unlearned[str(artefact.id)] = found
    reports = []
    for evaluation in list_artifacts(store, project.id, ArtifactKind.EVALUATION):
        path = evaluation.path / "report.json"
        if path.is_file():
            reports.append((evaluation.id, json.loads(path.read_text())))
    return points(reports, unlearned)


def chosen_settings(frame: pd.DataFrame, selection: dict | None) -> list[dict]:
    """The stored settings of the runs picked on the plot (by their model label)."""
    picked = {
        point["customdata"][0]
        for point in (selection or {}).get("points", [])
        if point.get("customdata")
    }
    rows = frame[frame["model"].isin(picked)] if picked else frame.iloc[0:0]
    return [{"model": row["model"], **json.loads(row["settings"])} for _, row in rows.iterrows()]


def settings_side_by_side(chosen: list[dict]) -> pd.DataFrame:
    """The picked runs' settings as a table: one row per setting, one column per run."""
    flat = pd.json_normalize(chosen, sep=".").set_index("model")
    table = flat.T.astype(str).reset_index(names="setting")
    table["setting"] = [" · ".join(map(readable_name, k.split("."))) for k in table["setting"]]
    return table.rename_axis(columns=None)
