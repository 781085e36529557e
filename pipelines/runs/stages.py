"""The heavy stages as project-level runs: job configs, defaults per model size, one registry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

from pipelines import models
from pipelines.anchors.dictionary import default_dictionary_path, dictionary_for
from pipelines.anchors.project import propose_project
from pipelines.anchors.propose import Checkpoint, ProposeConfig
from pipelines.augment import project as augment
from pipelines.augment.passages import PassageConfig
from pipelines.config import check_choices, setting
from pipelines.corpus import general_retain
from pipelines.corpus.splits import split_paragraphs
from pipelines.evaluation.evaluate import EvalConfig
from pipelines.evaluation.judge import JUDGES
from pipelines.evaluation.muse import MuseConfig
from pipelines.evaluation.robustness import RobustnessConfig
from pipelines.evaluation.utility import resolve_tasks
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.anchors import proposals_by_chunk
from pipelines.store.documents import project_texts
from pipelines.store.projects import ProjectInfo, list_artifacts, register_artifact
from pipelines.training import objectives, selection
from pipelines.training import unlearn as finetune
from pipelines.training.loop import (
    TrainConfig,
    TrainControl,
    TrainingStopped,
    is_main_process,
    process_state,
    total_steps,
)
from pipelines.types import Actor, ArtifactKind, DocRole, UnlearnError
from pipelines.whp import examples as label_examples
from pipelines.whp import project as whp
from pipelines.whp.labels import LabelConfig
from pipelines.whp.reinforce import ReinforceConfig


@dataclass(frozen=True)
class Launch:
    """How training processes start: 1 = in the job's own process; more = `accelerate launch`."""

    num_processes: int = 1
    accelerate_config: str = ""  # an accelerate config file: DeepSpeed, FSDP, several machines


@dataclass(frozen=True)
class ProposeJob:
    """Anchor-term proposals for every forget chunk, run by the worker with progress."""

    sources: str = setting(
        "ner,stats", "Proposers, comma-separated: ner (spaCy), stats (idiosyncratic words), "
        "llm (needs an endpoint), signal (needs a reinforced model).",
    )  # fmt: skip
    min_ratio: float = setting(
        4.0, "stats: how many times more frequent in the forget text than in the retain text.",
        label="Min frequency ratio (statistics proposer)",
    )  # fmt: skip

    def config(self) -> ProposeConfig:
        sources = tuple(s.strip() for s in self.sources.split(",") if s.strip())
        return ProposeConfig(sources=sources, min_ratio=self.min_ratio)

    def __post_init__(self):
        self.config()  # unknown proposers are refused at launch


@dataclass(frozen=True)
class TrainJob:
    """teach and reinforce: plain language modelling on the forget corpus."""

    reinforce: ReinforceConfig = field(default_factory=ReinforceConfig)
    launch: Launch = field(default_factory=Launch)


@dataclass(frozen=True)
class LabelsJob:
    dictionary: str = ""  # JSON file; "" = the newest published version
    labels: LabelConfig = field(default_factory=LabelConfig)
    launch: Launch = field(default_factory=Launch)  # several: batches shared across processes
    name: str = setting(
        "",
        "The label set's folder name; empty: labels-job<run>. A name used before continues "
        "that label run.",
    )

    def __post_init__(self):
        if self.name:
            whp.label_set_folder(self.name)  # a bad name is refused at launch


@dataclass(frozen=True)
class UnlearnJob:
    unlearn: finetune.UnlearnConfig = field(default_factory=finetune.UnlearnConfig)
    label_set: int | None = None  # whp: the label set's artefact id; None: the newest
    launch: Launch = field(default_factory=Launch)


@dataclass(frozen=True)
class EvaluateJob:
    models: str = setting(
        "start,unlearned", "Models to compare, comma-separated; the first is the baseline."
    )
    prompts_file: str = setting("", "A JSONL prompt file; empty: the project's prompts.")
    judge: str = setting("auto", "auto: the LLM judge if an endpoint is set, else rules.", JUDGES)
    robustness: bool = setting(
        False, "Also probe reframed, paraphrased and in-context prompts, and relearning."
    )
    relearn_steps: int = setting(8, "Fine-tuning steps of the relearning probe.")
    utility_tasks: str = setting(
        "auto", "lm-eval tasks, comma-separated; auto: the local ones if installed."
    )
    muse: bool = setting(True, "MUSE's VerbMem, KnowMem (the project's QA set) and PrivLeak.")
    quantisation: bool = setting(
        True, "Probability familiarity again after int8 and int4 weight quantisation."
    )
    privleak_reference: str = setting(
        "auto", "PrivLeak's reference model; none: chance; auto: base where the project taught "
        "it the forget text, else none.", label="PrivLeak reference model",
    )  # fmt: skip
    eval: EvalConfig = field(default_factory=EvalConfig)
    launch: Launch = field(default_factory=Launch)  # several: batches shared across processes

    def __post_init__(self):
        check_choices(self)

    def measures(self):
        """What the evaluation measures beyond familiarity and perplexity."""
        from pipelines.evaluation.project import Measures

        probes = RobustnessConfig(relearn_steps=self.relearn_steps) if self.robustness else None
        return Measures(
            robustness=probes,
            utility_tasks=tuple(resolve_tasks(self.utility_tasks)),
            muse=MuseConfig() if self.muse else None,
            quantisation=self.quantisation,
            reference=self.privleak_reference,
        )

    def steps(self, models: int) -> int:
        return models * (1 + self.robustness + self.muse + self.quantisation)


@dataclass(frozen=True)
class PassagesJob:
    passages: PassageConfig = field(default_factory=PassageConfig)


@dataclass
class StageContext:
    """What a running job hands its stage: training control, a folder, a progress reporter."""

    job_id: int
    job_dir: Path
    control: TrainControl
    report: Callable[[int, int, str], None]  # (done, total, what) for stages without a loop

    def checkpoint_dir(self) -> Path:
        return self.job_dir / "checkpoints"

    def advance(self, done: int, total: int, what: str, unit: str) -> None:
        """Report progress; once a cancel has arrived, stop the stage here."""
        self.report(done, total, what)
        if self.control.should_stop():
            raise TrainingStopped(f"stopped during {what} at {unit} {done} of {total}")


@dataclass(frozen=True)
class Stage:
    name: str
    summary: str
    config_type: type
    run: Callable[[Store, Actor, ProjectInfo, object, StageContext], dict]
    trains: bool = True  # may run under accelerate launch (training, or batches shared out)


def _control(ctx: StageContext) -> TrainControl:
    return replace(ctx.control, checkpoint_dir=ctx.checkpoint_dir())


def _propose(store, actor, project, job: ProposeJob, ctx: StageContext) -> dict:
    def progress(what: str, done: int, total: int) -> None:
        ctx.advance(done, total, what, "chunk")

    checkpoint = Checkpoint(ctx.job_dir / "proposals")  # a resumed job keeps what it found
    result = propose_project(store, actor, project, job.config(), progress=progress,
                             checkpoint=checkpoint)  # fmt: skip
    return {"counts": result.counts(), "failures": len(result.failures)}


def _passages(store, actor, project, job: PassagesJob, ctx: StageContext) -> dict:
    def progress(done: int, total: int) -> None:
        ctx.advance(done, total, "passages", "passage")

    written = ctx.job_dir / "passages.jsonl"  # a resumed job keeps what was written
    artifact, n = augment.generate(store, actor, project, job.passages, written, progress)
    return {"artifact": artifact, "kind": ArtifactKind.PASSAGE_SET, "passages": n}


def _teach(store, actor, project, job: TrainJob, ctx: StageContext) -> dict:
    artifact = whp.teach_project(store, actor, project, job.reinforce, control=_control(ctx))
    return {"artifact": artifact, "kind": ArtifactKind.TAUGHT}


def _reinforce(store, actor, project, job: TrainJob, ctx: StageContext) -> dict:
    artifact = whp.reinforce_project(store, actor, project, job.reinforce, control=_control(ctx))
    return {"artifact": artifact, "kind": ArtifactKind.REINFORCED}


def _labels(store, actor, project, job: LabelsJob, ctx: StageContext) -> dict:

    def report(what: str):
        def progress(done: int, total: int) -> None:
            ctx.advance(done, total, what, "block")

        return progress

    artifact, summary = whp.generate_project_labels(
        store,
        actor,
        project,
        dictionary_for(store, project, job.dictionary),
        job.labels,
        out_name=job.name or f"labels-job{ctx.job_id}",  # a resumed job continues its run
        progress=report("labels"),
        review_progress=report("review items: continuations"),
    )
    return {"artifact": artifact, "kind": ArtifactKind.LABEL_SET, "summary": summary}


def _unlearn(store, actor, project, job: UnlearnJob, ctx: StageContext) -> dict:
    return unlearn_project(store, actor, project, job, control=_control(ctx))


def _evaluate(store, actor, project, job: EvaluateJob, ctx: StageContext) -> dict:
    from pipelines.evaluation import project as eval_project

    authorize(store, actor, "artifact.register")
    refs, prompts = eval_project.model_refs(job.models), eval_project.prompt_file(job.prompts_file)
    out_dir = store.project_dir(project.id) / "evaluations" / f"eval-job{ctx.job_id}"
    done = []

    def progress(what: str) -> None:
        done.append(what)
        ctx.report(len(done), job.steps(len(refs)), what)

    ctx.report(0, job.steps(len(refs)), f"{refs[0]}: loading and completing the prompts")
    built = eval_project.run(
        store, project, refs, out_dir, prompts=prompts, config=job.eval, judge_kind=job.judge,
        measures=job.measures(), progress=progress,
    )  # fmt: skip
    if not is_main_process():
        return {}
    artifact = register_artifact(
        store,
        actor,
        project.id,
        ArtifactKind.EVALUATION,
        out_dir,
        models=built["models"],
        meta=built["meta"],
    )
    return {
        "artifact": artifact,
        "kind": ArtifactKind.EVALUATION,
        "report": str(out_dir / "report.html"),
    }


STAGES: dict[str, Stage] = {
    "propose": Stage(
        "propose", "anchor-term proposals for annotators", ProposeJob, _propose, trains=False
    ),
    "passages": Stage(
        "passages",
        "passages the model writes about the target, for review",
        PassagesJob,
        _passages,
        trains=False,
    ),  # fmt: skip
    "teach": Stage("teach", "demo only: teach the base model the forget corpus", TrainJob, _teach),
    "reinforce": Stage(
        "reinforce", "train further on the forget corpus (WHP step 1)", TrainJob, _reinforce
    ),
    "labels": Stage("labels", "generic labels for the forget corpus (WHP)", LabelsJob, _labels),
    "unlearn": Stage("unlearn", "the unlearning fine-tune", UnlearnJob, _unlearn),
    "evaluate": Stage("evaluate", "familiarity and retain perplexity", EvaluateJob, _evaluate),
}


def next_stage(store: Store, project: ProjectInfo) -> str:
    """What the project needs next, in the pipeline's order: proposals, the reinforced model,
    labels (after a dictionary is published), the unlearned model, then evaluation."""
    has = lambda kind: bool(list_artifacts(store, project.id, kind))  # noqa: E731
    if not proposals_by_chunk(store, project.id):
        return "propose"
    if not has(ArtifactKind.REINFORCED):
        return "reinforce"
    if not has(ArtifactKind.LABEL_SET):
        return "labels"
    return "evaluate" if has(ArtifactKind.UNLEARNED) else "unlearn"


def check_inputs(store: Store, project: ProjectInfo, stage: str, job) -> None:
    """Refuse, at launch, a job that could only fail: the inputs it reads are not there yet.
    Each check is the stage's own lookup, which raises the message the stage would."""
    from pipelines.evaluation import project as eval_project

    if stage in ("propose", "passages", "teach", "reinforce", "labels", "unlearn"):
        whp.forget_texts(store, project)
    if stage == "passages" and not default_dictionary_path(store, project):
        raise UnlearnError("Publish a dictionary first: passages are written about its terms.")
    if stage == "labels":
        whp.latest_reinforced(store, project)
        dictionary_for(store, project, job.dictionary)
    if stage == "unlearn":
        method = job.unlearn.method
        if objectives.get(method).data == "labels":
            whp.find_label_set(store, project, job.label_set)
        wants_retain = method == "grad_diff" or job.unlearn.retain_weight > 0
        if wants_retain and not project_texts(store, project.id, DocRole.RETAIN):
            raise UnlearnError(f"{method} with a retain term needs retain documents; add some.")
    if stage == "evaluate":
        for ref in eval_project.model_refs(job.models):
            models.check_source(eval_project.resolve_model(store, project, ref))


def get_stage(name: str) -> Stage:
    if name not in STAGES:
        raise UnlearnError(f"Unknown stage {name!r}; choose one of {', '.join(STAGES)}.")
    return STAGES[name]


def size_class(parameters: int | None) -> str:
    if parameters is None or parameters < 600_000_000:
        return "small"
    return "medium" if parameters < 4_000_000_000 else "large"


def suggested_training(stage: str, parameters: int | None, method: str = "whp") -> TrainConfig:
    """Starting settings by model size: full fine-tune on small models, LoRA beyond."""
    lr = {"teach": 1e-4, "reinforce": 3e-5}.get(stage) or finetune.default_lr(method, parameters)
    epochs = {"teach": 3, "reinforce": 1}.get(stage, finetune.DEFAULT_EPOCHS.get(method, 1))
    base = TrainConfig(epochs=epochs, lr=lr, checkpoint_every=20, eval_fraction=0.05)
    size = size_class(parameters)
    if size == "small":
        return base
    per_device = 2 if size == "medium" else 1
    return replace(
        base,
        lr=lr * 10,  # LoRA adapters want a larger step than full fine-tuning
        batch_size=per_device,
        grad_accum=8 // per_device,
        lora=True,
        gradient_checkpointing=True,
    )


def default_config(store: Store, project: ProjectInfo, stage: str, method: str = "whp"):
    """The prefilled settings a researcher starts from for this project's model."""
    if stage == "propose":
        return ProposeJob()
    if stage == "passages":
        return PassagesJob()
    parameters = models.approx_parameters(whp.starting_model(store, project))
    if stage == "evaluate":
        return EvaluateJob()
    if stage == "labels":
        published = default_dictionary_path(store, project)
        given = list_artifacts(store, project.id, ArtifactKind.REFERENCE_DICTIONARY)
        return LabelsJob(dictionary=published or (str(given[0].path) if given else ""))
    train = suggested_training(stage, parameters, method)
    if stage == "unlearn":
        has_retain = bool(project_texts(store, project.id, DocRole.RETAIN))
        weight = finetune.DEFAULT_RETAIN_WEIGHT.get(method, 0.0) if has_retain else 0.0
        config = finetune.UnlearnConfig(method=method, train=train, retain_weight=weight)
        return UnlearnJob(unlearn=config)
    get_stage(stage)
    return TrainJob(reinforce=ReinforceConfig(train=train))


def config_from_dict(stage: str, data: dict):
    from pipelines.config import from_dict

    try:
        return from_dict(get_stage(stage).config_type, data)
    except (TypeError, ValueError) as err:
        raise UnlearnError(f"Invalid settings for {stage}: {err}") from None


def unlearn_project(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    job: UnlearnJob,
    *,
    control: TrainControl | None = None,
) -> dict:
    """Unlearn from the project's starting model with the chosen method; register the model."""
    authorize(store, actor, "artifact.register")
    config = job.unlearn
    objective = objectives.get(config.method)
    start = whp.load_base(store, project)
    facts = {
        "project": project.name,
        "what was unlearned": project.target_description,
        "starting model": whp.starting_model(store, project),
    }
    if objective.data == "labels":
        examples, label_facts = _label_examples(store, project, job.label_set)
        facts |= label_facts
    else:
        texts = whp.forget_texts(store, project)
        examples = finetune.forget_examples(start.tokenizer, texts, config.block_tokens)
    # The held-out share of the retain text is for evaluation only (pipelines/splits.py).
    retain = split_paragraphs(project_texts(store, project.id, DocRole.RETAIN)).train
    retain = general_retain.retain_mix(retain, _target_terms(store, project), config.general_retain)
    needs_baseline = objectives.needs_teacher(config.method, config.retain_weight)
    out_dir = store.project_dir(project.id) / "models" / f"unlearned-{config.method}-{whp.stamp()}"
    control = _with_familiarity_probe(store, project, start.tokenizer, control, config, examples)
    _, result = finetune.run(
        config,
        examples,
        model=start.model,
        tokenizer=start.tokenizer,
        out_dir=out_dir,
        baseline=whp.load_base(store, project).model if needs_baseline else None,
        retain_texts=retain,
        control=control,
        card_facts=facts,
    )
    outputs = {
        "model_dir": str(out_dir),
        "tokens": result.tokens,
        "final_loss": result.losses[-1],
        "eval_loss": result.eval_losses[-1][1] if result.eval_losses else None,
        "probe_seconds": round(result.probe_seconds, 1),
    }
    if result.kept is not None:
        outputs["kept"] = {"step": result.kept.step, "reason": result.kept.reason}
    if is_main_process():
        outputs["artifact"] = register_artifact(
            store,
            actor,
            project.id,
            ArtifactKind.UNLEARNED,
            out_dir,
            **facts,
            config=asdict(config),
        )
    return outputs


def _target_terms(store: Store, project: ProjectInfo) -> list[str]:
    from pipelines.evaluation import project as eval_project

    return eval_project.published_terms(store, project)


def _with_familiarity_probe(store, project, tokenizer, control, config, examples):
    """About eight probe points against training steps: the probe set's tuning half (and the
    checkpoint rule, where it is on), else probability familiarity on the dev prompts."""
    from pipelines.evaluation import project as eval_project

    choose = None
    probe = eval_project.training_probe(store, project, tokenizer)
    if probe is not None and config.selection.keep_best:
        choose = partial(selection.choose, config=config.selection)
    probe = probe or eval_project.familiarity_probe(store, project, tokenizer)
    if probe is None:
        return control
    steps = total_steps(len(examples), config.train, process_state().num_processes)
    every = max(1, -(-steps // 8))  # at most about eight points however long the run
    return replace(control or TrainControl(), probe=probe, probe_every=every, choose=choose)


def _label_examples(store: Store, project: ProjectInfo, label_set_id: int | None):
    """The label set's examples with review decisions applied, and what the card says of them."""
    label_set = whp.find_label_set(store, project, label_set_id)
    with process_state().main_process_first():  # one process writes the export, the rest read it
        if is_main_process():
            exported, counts = whp.export_project_labels(store, project, label_set)
        else:
            exported, counts = label_set.path / "export.npz", {}
    terms = whp.label_set_dictionary(label_set)
    dictionary = json.dumps(terms, sort_keys=True).encode()
    facts = {
        "label set": f"artefact {label_set.id} ({label_set.path.name})",
        "dictionary": f"{len(terms)} terms, sha256 {hashlib.sha256(dictionary).hexdigest()[:12]}",
        "review decisions applied": json.dumps(counts),
    }
    return label_examples.examples_from_label_set(label_set.path, exported), facts
