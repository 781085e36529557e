"""Benchmark: label mode, alpha, learning rate, epochs and the retain term on a real book.

One project (propose → accept → publish → reinforce once), then each configuration's labels
(cached per label setting) and unlearning fine-tune, judged by the fact groups and perplexity of
`unlearn demo --book`. Each result is appended to OUT/results.jsonl as it lands, so a sweep that
is stopped keeps what it measured and a rerun skips configurations already there."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from pipelines.augment.passages import PassageConfig
from pipelines.bootstrap import cli_session
from pipelines.demo import book
from pipelines.demo import run as demo_run
from pipelines.training.loop import TrainControl

# name: changes to DemoConfig (labels.*, unlearn.*, retain_weight). A coordinate search around
# the demo world's settings: one lever moved at a time.
GRID: dict[str, dict] = {
    "demo": {},
    "paper": {"labels.mode": "paper"},
    "implicated": {"labels.mode": "implicated"},
    "alpha5": {"labels.alpha": 5.0},
    "alpha30": {"labels.alpha": 30.0},
    "ratio3": {"labels.implicated_ratio": 3.0},
    "lr3e-5": {"unlearn.lr": 3e-5},
    "lr3e-4": {"unlearn.lr": 3e-4},
    "epochs4": {"unlearn.epochs": 4},
    "retain1": {"retain_weight": 1.0},
}


def configured(base: demo_run.DemoConfig, changes: dict) -> demo_run.DemoConfig:
    """DemoConfig with dotted changes applied ("labels.alpha", "unlearn.lr", "retain_weight")."""
    config = base
    for key, value in changes.items():
        part, _, name = key.partition(".")
        if name:
            config = replace(config, **{part: replace(getattr(config, part), **{name: value})})
        else:
            config = replace(config, **{part: value})
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", required=True)
    parser.add_argument("--facts", default=str(book.BENCH_BOOKS / "alice" / "facts.jsonl"))
    parser.add_argument("--chapters", default="6-7")
    parser.add_argument("--model", default=demo_run.DEFAULT_MODEL)
    parser.add_argument("--only", help="comma-separated names from the grid (default: all)")
    parser.add_argument("--extra", help='JSON {"name": {"labels.alpha": 30, ...}} to add')
    parser.add_argument("--out", required=True)
    parser.add_argument("--passages", type=int, default=0,
                        help="passages per subject and format the base model writes, all approved "
                        "and added to the forget set before labels (0: none)")  # fmt: skip
    parser.add_argument(
        "--probes",
        action="store_true",
        help="build the probe set: unlearning keeps the checkpoint its rule picks",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = GRID | (json.loads(args.extra) if args.extra else {})
    names = args.only.split(",") if args.only else list(grid)
    results = out / "results.jsonl"
    done = {json.loads(line)["name"] for line in results.read_text().splitlines()} if (
        results.exists()) else set()  # fmt: skip
    store, actor = cli_session()
    base = demo_run.DemoConfig(model=args.model)
    facts = book.read_facts(Path(args.facts))
    other_text = book.OTHER_TEXT.read_text(encoding="utf-8")
    forget = book.pick_chapters(Path(args.book).read_text(encoding="utf-8"), args.chapters)
    project = book.book_project(
        store, actor, base, Path(args.book), forget, book.RETAIN_TEXT, args.chapters
    )
    watch, control = demo_run.Stopwatch(None), TrainControl()
    version = demo_run.dictionary_and_reinforce(store, actor, project, base, watch, control)
    if args.probes:
        demo_run.probes_stage(store, actor, project, watch)
    if args.passages:
        written = PassageConfig(per_prompt=args.passages)
        added = demo_run.passages_stage(store, actor, project, written, watch, out)
        print(f"{added} passages added to the forget set", flush=True)
    before = book.measure(project.base_model, store, facts, other_text)
    print(f"{version.n_terms} terms; before: {json.dumps(before)}", flush=True)
    label_sets: dict[str, int] = {}
    for name in names:
        if name in done:
            continue
        config = configured(base, grid[name])
        key = json.dumps(asdict(config.labels), sort_keys=True)
        if key not in label_sets:
            label_sets[key] = demo_run.labels_stage(
                store, actor, project, config.labels, watch, None
            )
        unlearn = demo_run.unlearn_config(config)
        outputs = demo_run.unlearn_stage(
            store, actor, project, unlearn, label_sets[key], watch, control
        )
        after = book.measure(outputs["model_dir"], store, facts, other_text)
        change = {k: after[k] / before[k] - 1 for k in before if before[k]}
        row = {"name": name, "changes": grid[name], "model": args.model, "before": before,
               "after": after, "change": change, "stages": dict(watch.seconds),
               "passages": args.passages, "probes": args.probes,
               "kept": outputs.get("kept"),
               "probe_seconds": outputs.get("probe_seconds")}  # fmt: skip
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(name, " ".join(f"{k} {v:+.1%}" for k, v in change.items()), flush=True)
        shutil.rmtree(outputs["model_dir"], ignore_errors=True)  # 0.5-1 GB each; keep figures
    print(table(results))


def table(results: Path) -> str:
    """The results as a markdown table: each row's change per group against the targets."""
    keys = list(book.TARGETS)
    head = "| setting | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys)
    rows = [head, "| target | " + " | ".join(f"{book.TARGETS[k]:+.0%}" for k in keys) + " |"]
    for line in results.read_text().splitlines():
        row = json.loads(line)
        cells = " | ".join(f"{row['change'][k]:+.1%}" for k in keys)
        rows.append(f"| {row['name']} {json.dumps(row['changes'])} | {cells} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
