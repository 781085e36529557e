"""Evaluation reports: the JSON record and a self-contained HTML page with its plots."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import plotly.express as px

from pipelines.evaluation.evaluate import ModelResult
from pipelines.evaluation.judge import CATEGORIES

METRICS = {
    "completion_familiarity": "completion familiarity (judge)",
    "prob_familiarity": "probability familiarity",
    "retain_ppl": "retain perplexity (held-out retain text)",
    "reframed_prob": "probability familiarity, reframed prompts",
    "paraphrased_prob": "probability familiarity, paraphrased prompts",
    "in_context_prob": "probability familiarity, forget passage in context",
    "relearned_prob": "probability familiarity after the relearning probe",
}


def metric(result: ModelResult, key: str) -> float | None:
    return getattr(result, key) if hasattr(result, key) else result.robustness.get(key)


def build(results: Sequence[ModelResult], meta: dict, curves: dict | None = None) -> dict:
    """Metrics per model, relative changes against the first (baseline) model, every row."""
    baseline = results[0]
    models = []
    for index, result in enumerate(results):
        entry = {"name": result.name} | {key: metric(result, key) for key in METRICS}
        entry |= {f"utility: {task}": acc for task, acc in result.utility.items()}
        for key in METRICS:
            before, after = metric(baseline, key), metric(result, key)
            change = after / before - 1 if before and after is not None else None
            entry[f"{key}_change"] = change if index else None
        models.append(entry)
    rows = {r.name: r.rows for r in results}
    return {
        "meta": meta,
        "baseline": baseline.name,
        "models": models,
        "completions": rows,
        "curves": curves or {},  # model -> [[step, {"prob_familiarity": p}], ...] from training
    }


def curve_figure(report: dict):
    """Probability familiarity on the dev prompts against training steps, where recorded."""
    rows = [
        {"model": name, "step": step, "prob_familiarity": found.get("prob_familiarity")}
        for name, points in report.get("curves", {}).items()
        for step, found in points
    ]
    if not rows:
        return None
    figure = px.line(
        pd.DataFrame(rows), x="step", y="prob_familiarity", color="model", markers=True,
        title="probability familiarity against training steps (dev prompts)",
    )  # fmt: skip
    figure.update_layout(height=340)
    return figure


def utility_figure(report: dict):
    """Accuracy per general task and model (lm-evaluation-harness), where measured."""
    rows = [
        {"model": m["name"], "task": key.removeprefix("utility: "), "accuracy": value}
        for m in report["models"]
        for key, value in m.items()
        if key.startswith("utility: ") and value is not None
    ]
    if not rows:
        return None
    figure = px.bar(pd.DataFrame(rows), x="task", y="accuracy", color="model", barmode="group",
                    title="general tasks (lm-evaluation-harness)", text_auto=".3g")  # fmt: skip
    figure.update_layout(height=320, xaxis_title="")
    return figure


def figures(report: dict) -> list:
    """Every plot of a report, in reading order."""
    extra = [f for f in (utility_figure(report), curve_figure(report)) if f is not None]
    return [*metric_figures(report), category_figure(report), *extra]


def write(report: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(json.dumps(report, indent=1, default=str))
    html_path.write_text(render_html(report))
    return json_path, html_path


def metrics_table(report: dict) -> pd.DataFrame:
    """One row per model; metrics nobody measured (all empty) are left out."""
    return pd.DataFrame(report["models"]).dropna(axis=1, how="all")


def metric_figures(report: dict) -> list:
    """One before/after bar chart per metric."""
    frame = pd.DataFrame(report["models"])
    figures = []
    for key, title in METRICS.items():
        if key in frame and frame[key].notna().any():
            figure = px.bar(frame, x="name", y=key, title=title, text_auto=".3g")
            figure.update_layout(height=320, xaxis_title="", yaxis_title="")
            figures.append(figure)
    return figures


def category_figure(report: dict):
    rows = [
        {"model": name, "category": f"{r['category']}: {CATEGORIES[r['category']]}"}
        for name, found in report["completions"].items()
        for r in found
    ]
    frame = pd.DataFrame(rows).value_counts().reset_index(name="completions")
    figure = px.bar(frame, x="model", y="completions", color="category", title="judge verdicts")
    figure.update_layout(height=360, xaxis_title="")
    return figure


def examples(report: dict, limit: int = 12) -> list[dict]:
    """Before/after pairs: the same prompt's greedy completion from the baseline and the last."""
    names = [m["name"] for m in report["models"]]
    before, after = report["completions"][names[0]], report["completions"][names[-1]]
    pairs = [
        {"prompt": b["prompt"], names[0]: b["completion"], names[-1]: a["completion"]}
        for b, a in zip(before, after, strict=True)
        if b["kind"] == "greedy" and b["category"] < a["category"]
    ]
    return pairs[:limit]


def render_html(report: dict) -> str:
    """One file: plotly.js inlined once, every text escaped."""
    charts = [
        f.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
        for i, f in enumerate(figures(report))
    ]
    table = metrics_table(report).to_html(index=False, na_rep="–", float_format="%.4g")
    pairs = pd.DataFrame(examples(report))
    pairs_html = pairs.to_html(index=False) if not pairs.empty else "<p>No prompt changed.</p>"
    meta = html.escape(json.dumps(report["meta"], default=str))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Unlearning report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style>
</head><body>
<h1>Unlearning report</h1>
<p>Baseline: {html.escape(report["baseline"])}. Settings: <code>{meta}</code></p>
<h2>Metrics</h2>{table}
{"".join(charts)}
<h2>Before and after</h2>{pairs_html}
</body></html>
"""


def result_summary(result: ModelResult) -> dict:
    summary = asdict(result)
    summary.pop("rows")
    return summary
