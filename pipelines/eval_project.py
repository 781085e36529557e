"""Evaluate a project's models: resolve them, pick prompts and a judge, write the report."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines import evaluate, model_card, models, report, stages, whp
from pipelines.bootstrap import DEMO_DIR, DEMO_PROJECT
from pipelines.config import ModelConfig
from pipelines.judge import RuleJudge, distinctive_words
from pipelines.store import Store
from pipelines.store.documents import project_texts
from pipelines.store.projects import ProjectInfo, artifact_path, list_artifacts
from pipelines.types import DocRole, UnlearnError

NAMED = {"reinforced": whp.REINFORCED, "taught": whp.TAUGHT, "unlearned": stages.UNLEARNED}


def resolve_model(store: Store, project: ProjectInfo, ref: str) -> str:
    """base, start, taught, reinforced, unlearned (newest), an artefact id, or a model source."""
    if ref == "base":
        return project.base_model
    if ref == "start":
        return whp.starting_model(store, project)
    if ref in NAMED:
        found = list_artifacts(store, project.id, NAMED[ref])
        if not found:
            raise UnlearnError(f"Project {project.name!r} has no {ref} model yet.")
        return str(found[0].path)
    if ref.isdigit():
        return str(artifact_path(store, int(ref)))
    return ref


def model_refs(text: str) -> list[str]:
    """ "start, unlearned" -> ["start", "unlearned"]: the first is the baseline."""
    return [ref.strip() for ref in text.split(",") if ref.strip()]


def prompt_file(path: str) -> list[evaluate.EvalPrompt] | None:
    """The prompts of a JSONL file, or None (the project's defaults) when no file is given."""
    return evaluate.read_prompts(Path(path).read_bytes(), path) if path else None


def default_prompts(store: Store, project: ProjectInfo) -> list[evaluate.EvalPrompt]:
    """The demo's prompt file on the Demo project; elsewhere prompts cut before anchor terms."""
    if project.name == DEMO_PROJECT:
        return evaluate.read_prompts((DEMO_DIR / "prompts.jsonl").read_bytes())
    sets = whp.label_sets(store, project)
    if not sets:
        raise UnlearnError("No prompts: give a prompt file, or generate a label set first.")
    dictionary = whp.label_set_dictionary(sets[0])
    return evaluate.anchor_cut_prompts(whp.forget_texts(store, project), list(dictionary))


def rule_judge(store: Store, project: ProjectInfo) -> RuleJudge:
    """Unique terms: the dictionary's anchors (and the demo's names); themes: statistics."""
    terms: set[str] = set()
    for label_set in whp.label_sets(store, project)[:1]:
        terms |= set(whp.label_set_dictionary(label_set))
    if project.name == DEMO_PROJECT:
        terms |= {row["term"] for row in json.loads((DEMO_DIR / "names.json").read_text())}
    forget = whp.forget_texts(store, project)
    themes = distinctive_words(forget, project_texts(store, project.id, DocRole.RETAIN))
    return RuleJudge(terms, [w for w in themes if w not in {t.lower() for t in terms}])


def run(
    store: Store,
    project: ProjectInfo,
    refs: Sequence[str],
    out_dir: Path,
    *,
    prompts: Sequence[evaluate.EvalPrompt] | None = None,
    config: evaluate.EvalConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate each model (the first is the baseline) and write report.json and report.html."""
    config = config or evaluate.EvalConfig()
    prompts = list(prompts or default_prompts(store, project))
    judge = rule_judge(store, project)
    retain = project_texts(store, project.id, DocRole.RETAIN)
    results = []
    for ref in refs:
        source = resolve_model(store, project, ref)
        loaded = models.load(ModelConfig(source=source), models_dir=store.settings.models_dir)
        result = evaluate.evaluate_model(
            ref, loaded.model, loaded.tokenizer, prompts, judge, retain, config, progress
        )
        results.append(result)
        _card_results(Path(source), result)
    meta = {"project": project.name, "judge": judge.name, "prompts": len(prompts)}
    built = report.build(results, meta | {"config": config.__dict__, "models": list(refs)})
    report.write(built, out_dir)
    return built


def _card_results(model_dir: Path, result: evaluate.ModelResult) -> None:
    """An evaluated model folder of ours gets the figures in its model card."""
    if (model_dir / "unlearn_training.json").exists():
        model_card.add_results(model_dir, report.result_summary(result))
