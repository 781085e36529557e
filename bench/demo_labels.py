"""Benchmark: label settings on one finished `unlearn demo` run, without teaching again.

Each variant regenerates the generic labels from the run's taught and reinforced models with
some LabelConfig fields changed, unlearns the taught model with the demo's settings (or with
`unlearn.`-prefixed TrainConfig fields changed, e.g. `unlearn.lr=2e-4`), and measures
probability familiarity on the demo prompts and perplexity on the held-out retain paragraphs.
With --fast the settings are `unlearn demo --fast`'s.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from bench.efficacy import bar_control, bar_progress
from pipelines import models
from pipelines.anchors import dictionary
from pipelines.bootstrap import cli_session
from pipelines.config import ModelConfig
from pipelines.demo import run as demo_run
from pipelines.evaluation import familiarity
from pipelines.evaluation.project import held_out_retain
from pipelines.evaluation.robustness import mean_probability
from pipelines.runs import stages
from pipelines.store.projects import get_project
from pipelines.whp import project as whp


def parse_variant(text: str) -> tuple[str, dict]:
    """`name:field=value,field=value` → (name, {field: value}); numbers become floats."""
    name, _, settings = text.partition(":")
    changes = {}
    for pair in filter(None, settings.split(",")):
        key, value = pair.split("=", 1)
        try:
            number = float(value)
            changes[key] = int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            changes[key] = value
    return name, changes


def measure(model_dir: str, store, project, prompts, retain) -> dict:
    loaded = models.load(ModelConfig(source=model_dir), models_dir=store.settings.models_dir)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    with torch.no_grad():
        return {
            "prob_familiarity": round(mean_probability(model, tokenizer, prompts), 4),
            "retain_ppl": round(familiarity.perplexity(model, tokenizer, retain), 3),
        }


def run_variant(store, actor, project, changes: dict, config: demo_run.DemoConfig) -> dict:
    prefix = "unlearn."
    training = {k.removeprefix(prefix): v for k, v in changes.items() if k.startswith(prefix)}
    labels = replace(config.labels, **{k: v for k, v in changes.items() if "." not in k})
    config = replace(config, unlearn=replace(config.unlearn, **training))
    terms = dictionary.dictionary_for(store, project)
    started = time.perf_counter()
    label_set, summary = whp.generate_project_labels(
        store, actor, project, terms, labels, progress=bar_progress("labels")
    )
    unlearn = stages.UnlearnJob(unlearn=demo_run.unlearn_config(config), label_set=label_set)
    outputs = stages.unlearn_project(store, actor, project, unlearn, control=bar_control("unlearn"))
    return {
        "model_dir": outputs["model_dir"],
        "labels_changed": summary["changed"],
        "seconds": round(time.perf_counter() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", required=True, help="a `Demo run …` project in UNLEARN_HOME")
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        help="name:field=value,… over the demo's LabelConfig (name: alone keeps the defaults)",
    )
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--fast", action="store_true", help="the settings of `unlearn demo --fast`")
    args = parser.parse_args()
    store, actor = cli_session()
    project = get_project(store, args.project)
    config = demo_run.DemoConfig.fast() if args.fast else demo_run.DemoConfig()
    prompts = demo_run.demo_prompts(whp.forget_texts(store, project))
    retain = held_out_retain(store, project)
    taught = whp.starting_model(store, project)
    results = {"taught": measure(taught, store, project, prompts, retain)}
    for name, changes in map(parse_variant, args.variant):
        row = run_variant(store, actor, project, changes, config)
        row |= measure(row["model_dir"], store, project, prompts, retain)
        before = results["taught"]
        row["drop"] = round(1 - row["prob_familiarity"] / before["prob_familiarity"], 4)
        row["retain_ppl_change"] = round(row["retain_ppl"] / before["retain_ppl"] - 1, 4)
        results[name] = {"changes": changes, **row}
        print(name, json.dumps(results[name]), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
