"""General ability through EleutherAI's lm-evaluation-harness (the optional `utility` extra),
with local task files shipped in data/tasks/ so it runs with no dataset download."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipelines.config import REPO_ROOT
from pipelines.types import UnlearnError

TASKS_DIR = REPO_ROOT / "data" / "tasks"
LOCAL_PREFIX = "unlearn_"  # data/tasks/NAME.jsonl is the task unlearn_NAME

TEMPLATE = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def local_tasks() -> list[str]:
    """Multiple-choice JSONL files (question, choices, answer index) shipped with the project."""
    return sorted(LOCAL_PREFIX + p.stem for p in TASKS_DIR.glob("*.jsonl"))


def write_task_configs(folder: Path) -> Path:
    """lm-eval YAML for each local task, pointing at its file by absolute path."""
    for data in TASKS_DIR.glob("*.jsonl"):
        text = TEMPLATE.format(task=LOCAL_PREFIX + data.stem, data=data.resolve())
        (folder / f"{data.stem}.yaml").write_text(text)
    return folder


def _harness():
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from lm_eval import simple_evaluate
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise UnlearnError(
            "Utility tasks need lm-evaluation-harness: pip install -e '.[utility]'."
        ) from None
    return simple_evaluate, HFLM, TaskManager


def run_tasks(
    model, tokenizer, tasks: Sequence[str], *, limit: int | None = None, batch_size: int = 8
) -> dict[str, float]:
    """task -> accuracy (acc_norm where the task has it); a task that cannot load is an error."""
    simple_evaluate, HFLM, TaskManager = _harness()
    with tempfile.TemporaryDirectory() as folder:
        manager = TaskManager(include_path=str(write_task_configs(Path(folder))))
        unknown = [t for t in tasks if t not in manager.all_tasks]
        if unknown:
            local = ", ".join(local_tasks())
            raise UnlearnError(f"lm-eval cannot load {', '.join(unknown)}; local tasks: {local}.")
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
        try:
            results = simple_evaluate(
                model=lm, tasks=list(tasks), task_manager=manager, limit=limit, log_samples=False
            )["results"]
        except Exception as err:  # noqa: BLE001 - datasets and the harness raise many kinds
            raise UnlearnError(f"lm-eval could not run {', '.join(tasks)}: {err}") from None
    return {task: _accuracy(results[task]) for task in tasks}


def _accuracy(metrics: dict) -> float:
    for key in ("acc_norm,none", "acc,none", "exact_match,none"):
        if key in metrics:
            return float(metrics[key])
    numbers = [v for k, v in metrics.items() if isinstance(v, float) and "stderr" not in k]
    if not numbers:
        raise UnlearnError(f"lm-eval returned no accuracy: {sorted(metrics)}")
    return float(numbers[0])


def available() -> bool:
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_tasks(spec: str) -> list[str]:
    """ "auto": the local tasks when the harness is installed (else none); "" none; or a list."""
    if spec.strip() == "auto":
        return local_tasks() if available() else []
    return [t.strip() for t in spec.split(",") if t.strip()]
