"""Benchmark: label generation and evaluation on one process against two (accelerate launch).

Runs `unlearn labels generate` and `unlearn eval` on an existing project (one with a reinforced
model and a published dictionary, e.g. the one `unlearn demo --book` leaves) with --processes 1
and 2, one after the other, and checks that both wrote the same labels and the same report.
Prints the seconds and the speed-up of two processes, then a JSON line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.projects import get_project
from pipelines.whp import project as whp

UNLEARN = str(Path(sys.executable).parent / "unlearn")


def timed(*argv: str) -> float:
    started = time.perf_counter()
    subprocess.run([UNLEARN, *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def same_labels(one: Path, two: Path) -> bool:
    names = sorted(p.name for p in one.glob("block_*.npz"))
    if names != sorted(p.name for p in two.glob("block_*.npz")):
        return False
    for name in names:
        with np.load(one / name) as a, np.load(two / name) as b:
            if a.files != b.files or not all(
                np.array_equal(a[k], b[k], equal_nan=True) for k in a.files
            ):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--models", default="base", help="models the evaluation compares")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = open_store(Settings.from_env())
    project = get_project(store, args.project)
    seconds, reports = {}, {}
    for processes in (1, 2):
        flag = ["--processes", str(processes)]
        seconds[f"labels_{processes}"] = timed(
            "labels", "generate", "--project", project.name, *flag
        )
        folder = out / f"eval-{processes}"
        seconds[f"eval_{processes}"] = timed("eval", "--project", project.name, "--models",
                                             args.models, "--out", str(folder), "--judge", "rules",
                                             "--utility-tasks", "", *flag)  # fmt: skip
        reports[processes] = json.loads((folder / "report.json").read_text())["models"]
    newest, older = whp.label_sets(store, project)[:2]
    result = {
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "labels_speedup": round(seconds["labels_1"] / seconds["labels_2"], 2),
        "eval_speedup": round(seconds["eval_1"] / seconds["eval_2"], 2),
        "labels_identical": same_labels(older.path, newest.path),
        "report_identical": reports[1] == reports[2],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
