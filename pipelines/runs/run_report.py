"""What the researchers' page shows of runs: table rows, configs side by side, loss curves."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipelines.store.jobs import JobInfo

RESULT_KEYS = ("final_loss", "eval_loss", "tokens", "artifact", "model_dir")


def flatten(config: dict, prefix: str = "") -> dict[str, object]:
    """{"unlearn": {"train": {"lr": 1e-5}}} -> {"unlearn.train.lr": 1e-5}."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, name + ".")
        else:
            flat[name] = value
    return flat


def method_of(job: JobInfo) -> str:
    return job.config.get("unlearn", {}).get("method", "") if job.stage == "unlearn" else ""


def duration_s(job: JobInfo, now: datetime | None = None) -> float | None:
    if job.started_at is None:
        return None
    end = job.finished_at or now or datetime.utcnow()
    return (end - job.started_at).total_seconds()


def runs_table(jobs: list[JobInfo], project_names: dict[int, str]) -> pd.DataFrame:
    rows = [
        {
            "run": job.id,
            "project": project_names.get(job.project_id, job.project_id),
            "stage": job.stage,
            "method": method_of(job),
            "state": job.state,
            "progress": f"{job.step}/{job.total}" if job.total else "",
            "loss": job.loss,
            "attempt": job.attempt,
            "created": job.created_at.strftime("%Y-%m-%d %H:%M"),
            "minutes": round((duration_s(job) or 0) / 60, 1),
        }
        for job in jobs
    ]
    return pd.DataFrame(rows)


def side_by_side(a: JobInfo, b: JobInfo, only_differences: bool = True) -> pd.DataFrame:
    """Settings and results of two runs in two columns; by default only what differs."""
    left = {"stage": a.stage, "state": a.state} | flatten(a.config) | _results(a)
    right = {"stage": b.stage, "state": b.state} | flatten(b.config) | _results(b)
    keys = list(dict.fromkeys([*left, *right]))
    rows = [
        {"setting": k, f"run {a.id}": _show(left.get(k)), f"run {b.id}": _show(right.get(k))}
        for k in keys
        if not only_differences or left.get(k) != right.get(k) or k.startswith("result.")
    ]
    return pd.DataFrame(rows, columns=["setting", f"run {a.id}", f"run {b.id}"])


def default_pair(jobs: list[JobInfo]) -> tuple[int, int]:
    """What to compare first: the newest run and the one before it of the same stage."""
    newest = jobs[0]
    same = [job for job in jobs[1:] if job.stage == newest.stage]
    return (same[0] if same else jobs[1]).id, newest.id


def _results(job: JobInfo) -> dict:
    found = {f"result.{k}": job.outputs.get(k) for k in RESULT_KEYS if k in job.outputs}
    return found | {"result.minutes": round((duration_s(job) or 0) / 60, 2)}


def _show(value) -> str:
    return "" if value is None else str(value)


def loss_curves(metrics_by_run: dict[int, list[dict]]) -> pd.DataFrame:
    """Long format for one plot: run, step, kind (train / held-out), loss."""
    rows = []
    for run, metrics in metrics_by_run.items():
        for m in metrics:
            rows.append(
                {"run": f"run {run}", "step": m["step"], "kind": "train", "loss": m["loss"]}
            )
            if m.get("eval_loss") is not None:
                held = {"run": f"run {run}", "step": m["step"], "kind": "held-out"}
                rows.append(held | {"loss": m["eval_loss"]})
    return pd.DataFrame(rows, columns=["run", "step", "kind", "loss"])


PROBE_NAMES = {
    "prob_familiarity": "familiarity on the dev prompts",
    "book": "book probes (tuning half)",
    "neighbours": "neighbour probes (general, fiction)",
    "retain_ppl": "perplexity on held-out retain text",
}


def probe_curves(metrics_by_run: dict[int, list[dict]]) -> pd.DataFrame:
    """Long format: run, step, measure (a person's name for it), value, wherever probed."""
    rows = [
        {"run": f"run {run}", "step": m["step"], "measure": PROBE_NAMES.get(k, k), "value": v}
        for run, metrics in metrics_by_run.items()
        for m in metrics
        for k, v in (m.get("probes") or {}).items()
        if v is not None
    ]
    return pd.DataFrame(rows, columns=["run", "step", "measure", "value"])
