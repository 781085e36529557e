"""Evaluation reports: the JSON record and a self-contained HTML page with its plots."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import plotly.express as px

from pipelines.evaluation import quantise
from pipelines.evaluation.evaluate import ModelResult
from pipelines.evaluation.judge import CATEGORIES

METRICS = {
    "completion_familiarity": "completion familiarity (judge)",
    "prob_familiarity": "probability familiarity",
    "retain_ppl": "retain perplexity (held-out retain text)",
    "book_probes": "book probes, report half: first-token probability of the answer",
    "general_probes": "general-knowledge probes, report half",
    "fiction_probes": "other-fiction probes, report half",
    "reframed_prob": "probability familiarity, reframed prompts",
    "paraphrased_prob": "probability familiarity, paraphrased prompts",
    "in_context_prob": "probability familiarity, forget passage in context",
    "relearned_prob": "probability familiarity after the relearning probe",
}
# MUSE's metrics (pipelines/evaluation/muse.py) and the quantisation probe: shown, not divided.
MEASURED = {
    "verbmem": "VerbMem: ROUGE-L F1 of forget continuations (lower = forgotten)",
    "knowmem_forget": "KnowMem on forget QA: ROUGE-L recall (lower = forgotten)",
    "knowmem_retain": "KnowMem on retain QA: ROUGE-L recall (higher = kept)",
    "auc": "Min-K% AUC: forget text against held-out text",
    "privleak": "PrivLeak: Min-K% AUC relative to the reference (0 = like the reference)",
    "quant8_prob": "probability familiarity after int8 weight quantisation",
    "quant4_prob": "probability familiarity after int4 weight quantisation",
    "quant8_returned": "share of the forgotten familiarity back at int8",
    "quant4_returned": "share of the forgotten familiarity back at int4",
}


def metric(result: ModelResult, key: str) -> float | None:
    if hasattr(result, key):
        return getattr(result, key)
    for found in (result.robustness, result.muse, result.quantised, result.probes):
        if key in found:
            return found[key]
    return None


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
        entry |= {key: metric(result, key) for key in MEASURED}
        for bits in quantise.BITS:
            entry[f"quant{bits}_returned"] = (
                quantise.returned_share(
                    baseline.prob_familiarity, result.prob_familiarity, entry[f"quant{bits}_prob"]
                )
                if index
                else None
            )
        models.append(entry)
    rows = {r.name: r.rows for r in results}
    return {
        "meta": meta,
        "baseline": baseline.name,
        "models": models,
        "completions": rows,
        "curves": curves or {},  # model -> [[step, {"prob_familiarity": p}], ...] from training
    }


CURVE_NAMES = {"prob_familiarity": "dev prompts", "book": "book probes",
               "neighbours": "neighbour probes"}  # fmt: skip


def curve_figure(report: dict):
    """Probability familiarity on the dev prompts against training steps, where recorded."""
    rows = [
        {"model": name, "step": step, "probe": CURVE_NAMES[key], "value": found[key]}
        for name, points in report.get("curves", {}).items()
        for step, found in points
        for key in CURVE_NAMES
        if found.get(key) is not None
    ]
    if not rows:
        return None
    figure = px.line(
        pd.DataFrame(rows), x="step", y="value", color="model", line_dash="probe", markers=True,
        title="probes against training steps (the tuning half, or the dev prompts)",
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


def quantisation_figure(report: dict):
    """Probability familiarity of each model at full precision, int8 and int4, where probed."""
    columns = {"prob_familiarity": "full precision", "quant8_prob": "int8", "quant4_prob": "int4"}
    rows = [
        {"model": m["name"], "weights": label, "prob_familiarity": m.get(key)}
        for m in report["models"]
        for key, label in columns.items()
        if m.get("quant4_prob") is not None
    ]
    if not rows:
        return None
    title = "quantisation probe: familiarity once the weights are quantised"
    figure = px.bar(pd.DataFrame(rows), x="model", y="prob_familiarity", color="weights",
                    barmode="group", text_auto=".3g", title=title)  # fmt: skip
    figure.update_layout(height=340, xaxis_title="")
    return figure


def figures(report: dict) -> list:
    """Every plot of a report, in reading order."""
    later = (quantisation_figure(report), utility_figure(report), curve_figure(report))
    return [*metric_figures(report), category_figure(report), *[f for f in later if f]]


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
    shown = {k: t for k, t in MEASURED.items() if not k.startswith("quant")}
    for key, title in (METRICS | shown).items():
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
