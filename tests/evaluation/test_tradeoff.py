"""The trade-off plot: one point per evaluated run, the Pareto front, and each run's settings."""

from __future__ import annotations

import json

from pipelines.evaluation import tradeoff


def report(baseline: str, models: list[tuple[str, float, float]], sources: dict) -> dict:
    entries = [{"name": baseline, "prob_familiarity_change": None, "retain_ppl_change": None}]
    entries += [
        {"name": n, "prob_familiarity_change": drop, "retain_ppl_change": cost}
        for n, drop, cost in models
    ]
    return {"baseline": baseline, "meta": {"sources": sources}, "models": entries}


def test_the_front_keeps_runs_that_no_other_run_beats_on_both_axes():
    forgetting = [80, 60, 85, 50, 80]
    cost = [5, 1, 20, 3, 5]
    # 50 % at +3 % is beaten by 60 % at +1 %; the two equal runs both stay on the front
    assert tradeoff.pareto_front(forgetting, cost) == [True, True, True, False, True]


def test_points_come_from_every_evaluation_with_their_run_settings():
    whp = {"method": "whp", "train": {"lr": 3e-5, "epochs": 2}, "retain_weight": 1.0}
    npo = {"method": "npo", "train": {"lr": 1e-5, "epochs": 1}, "npo_beta": 0.1,
           "simnpo_beta": 2.5, "retain_weight": 1.0}  # fmt: skip
    unlearned = {"/m/whp": (7, whp), "7": (7, whp), "/m/npo": (9, npo), "9": (9, npo)}
    newest = report("start", [("9", -0.5, 0.02)], {"start": "/m/base", "9": "/m/npo"})
    older = report(
        "start",
        [("unlearned", -0.8, 0.10), ("9", -0.1, 0.9)],
        {"start": "/m/base", "unlearned": "/m/whp", "9": "/m/npo"},
    )
    frame = tradeoff.points([(12, newest), (11, older)], unlearned)
    assert list(frame["model"]) == ["unlearned #9", "unlearned #7"]  # the newest evaluation wins
    npo_row, whp_row = frame.to_dict("records")
    assert npo_row[tradeoff.FORGETTING] == 50 and npo_row[tradeoff.COST] == 2
    assert npo_row["evaluation"] == 12 and npo_row["NPO beta"] == 0.1
    assert "SimNPO beta" not in npo_row  # only the method's own settings
    assert whp_row["lr"] == 3e-5 and whp_row["retain weight"] == 1.0
    assert list(frame["on the front"]) == [True, True]
    figure = tradeoff.figure(frame)
    assert "Pareto front" in {trace.name for trace in figure.data}
    selection = {"points": [{"customdata": ["unlearned #7"]}, {"x": 1}]}
    (chosen,) = tradeoff.chosen_settings(frame, selection)
    assert chosen["model"] == "unlearned #7" and chosen["train"] == whp["train"]
    table = tradeoff.settings_side_by_side([chosen])  # one row per setting, a column per run
    assert list(table.columns) == ["setting", "unlearned #7"]
    by_setting = table.set_index("setting")
    assert by_setting.loc["Train · Learning rate", "unlearned #7"] == str(whp["train"]["lr"])
    assert tradeoff.chosen_settings(frame, None) == []
    assert json.loads(frame.iloc[0]["settings"]) == npo


def test_a_report_without_sources_or_changes_still_plots_by_name():
    bare = report("start", [("unlearned", -0.3, 0.05), ("odd", None, 0.1)], {})
    frame = tradeoff.points([(3, bare)], {})
    assert list(frame["model"]) == ["unlearned"] and frame.iloc[0]["method"] == "whp"
    assert tradeoff.points([], {}).empty
