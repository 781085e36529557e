"""`unlearn teach|reinforce|unlearn`, `unlearn jobs ...` and `unlearn worker`: stages as jobs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace

from tqdm import tqdm

from pipelines.bootstrap import cli_session
from pipelines.cli.options import add_setting_flags, with_chosen_settings
from pipelines.runs import jobs, stages
from pipelines.store import jobs as rows
from pipelines.store.projects import get_project
from pipelines.training import unlearn as finetune
from pipelines.training.loop import TrainConfig
from pipelines.training.objectives import OBJECTIVES
from pipelines.training.selection import SelectionConfig

# CLI option -> TrainConfig field; unset options keep the defaults suggested for the model size.
# Training settings the CLI offers as flags (the rest keep the stage's defaults).
TRAIN_OPTIONS = (
    "epochs", "lr", "batch_size", "grad_accum", "schedule", "warmup_ratio", "precision",
    "lora_rank", "checkpoint_every", "eval_fraction", "eval_every", "seed",
)  # fmt: skip


# The objectives' own settings the CLI offers as flags.
UNLEARN_OPTIONS = (
    "retain_weight",
    "general_retain",
    "npo_beta",
    "simnpo_beta",
    "simnpo_gamma",
    "undial_strength",
)


def _train_settings(args, train):
    chosen = {"lora": True} if args.lora else {}
    if args.gradient_checkpointing:
        chosen["gradient_checkpointing"] = True
    return replace(with_chosen_settings(args, train, TRAIN_OPTIONS), **chosen)


def _launch_settings(args) -> stages.Launch:
    return stages.Launch(args.processes, args.accelerate_config or "")


def _stage_config(store, project, args):
    config = stages.default_config(store, project, args.command, getattr(args, "method", "whp"))
    if args.command == "unlearn":
        unlearn = replace(
            config.unlearn,
            train=_train_settings(args, config.unlearn.train),
            block_tokens=args.block_tokens,
        )
        # unset flags keep the prefilled values (the retain term where the project has retain text)
        unlearn = with_chosen_settings(args, unlearn, UNLEARN_OPTIONS)
        unlearn = replace(unlearn, selection=with_chosen_settings(args, unlearn.selection))
        return replace(
            config, unlearn=unlearn, label_set=args.label_set, launch=_launch_settings(args)
        )
    reinforce = replace(
        config.reinforce,
        train=_train_settings(args, config.reinforce.train),
        block_tokens=args.block_tokens,
    )
    return replace(config, reinforce=reinforce, launch=_launch_settings(args))


def cmd_stage(args) -> int:
    store, actor = cli_session()
    project = get_project(store, args.project)
    job_id = jobs.launch(store, actor, project, args.command, _stage_config(store, project, args))
    if args.queue:
        print(f"Queued job {job_id}; `unlearn worker` runs it.")
        return 0
    return run_with_bar(store, job_id, args.command)


def run_with_bar(store, job_id: int, desc: str) -> int:
    """Run a launched job here (its processes under accelerate when it has several) with a bar."""
    with tqdm(desc=desc, unit="step") as bar:

        def hook(done: int, total: int, what: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix_str(what)

        job = jobs.run_here(store, job_id, hook=hook)
    return _print_end(store, job)


def _print_end(store, job) -> int:
    if job.state == rows.SUCCEEDED:
        print(f"Job {job.id} succeeded: {json.dumps(job.outputs, default=str)}")
        return 0
    print(f"Job {job.id} {job.state}: {job.error}", file=sys.stderr)
    if job.state == rows.FAILED:
        print(jobs.log_tail(store, job.id, 15), file=sys.stderr)
    return 1


def cmd_jobs_list(args) -> int:
    store, _ = cli_session()
    jobs.fail_dead_jobs(store)  # a job killed with its process reads failed, not running
    for job in rows.list_jobs(store, state=args.state):
        progress = f"{job.step}/{job.total}" if job.total else "-"
        print(f"{job.id}\t{job.stage}\t{job.state}\t{progress}\t{job.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_jobs_show(args) -> int:
    store, _ = cli_session()
    job = rows.get_job(store, args.job)
    print(json.dumps(job.__dict__, indent=1, default=str))
    print("--- log (last lines) ---")
    print(jobs.log_tail(store, job.id))
    return 0


def cmd_jobs_cancel(args) -> int:
    store, actor = cli_session()
    state = rows.request_cancel(store, actor, args.job)
    print(f"Job {args.job}: " + ("cancelled." if state == rows.CANCELLED else "asked to stop."))
    return 0


def cmd_jobs_resume(args) -> int:
    store, actor = cli_session()
    jobs.fail_dead_jobs(store)
    jobs.resume(store, actor, args.job)
    if args.queue:
        print(f"Job {args.job} queued to resume; `unlearn worker` runs it.")
        return 0
    return _print_end(store, jobs.run_here(store, args.job))


def cmd_worker(args) -> int:
    store, _ = cli_session()
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    worker = jobs.Worker(store, max_parallel=args.max_parallel)
    print(f"Worker watching {store.settings.home} (running jobs outlive this process).", flush=True)
    worker.run(poll_s=args.poll, stop=lambda: bool(stopping))
    return 0


def _training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True)
    parser.add_argument("--queue", action="store_true", help="only queue it for the worker")
    add_setting_flags(parser, TrainConfig, TRAIN_OPTIONS)
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters, then merge")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--block-tokens", type=int, default=256)
    parser.add_argument("--processes", type=int, default=1, help=">1: accelerate launch (DDP)")
    parser.add_argument("--accelerate-config", help="accelerate config file (DeepSpeed, FSDP)")


def add_parsers(sub) -> None:
    for stage in ("teach", "reinforce", "unlearn"):
        parser = sub.add_parser(stage, help=stages.STAGES[stage].summary)
        _training_options(parser)
        parser.set_defaults(func=cmd_stage)
        if stage == "unlearn":
            parser.add_argument("--method", choices=list(OBJECTIVES), default="whp")
            add_setting_flags(parser, finetune.UnlearnConfig, UNLEARN_OPTIONS)
            add_setting_flags(parser, SelectionConfig)
            parser.add_argument("--label-set", type=int, help="artefact id (whp; default newest)")

    job_commands = sub.add_parser("jobs", help="list, inspect, cancel, resume jobs")
    actions = job_commands.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--state", choices=[*rows.ENDED, rows.QUEUED, rows.RUNNING])
    listing.set_defaults(func=cmd_jobs_list)
    for name, func in (("show", cmd_jobs_show), ("cancel", cmd_jobs_cancel)):
        action = actions.add_parser(name)
        action.add_argument("job", type=int)
        action.set_defaults(func=func)
    resume = actions.add_parser("resume", help="continue a failed or cancelled job")
    resume.add_argument("job", type=int)
    resume.add_argument("--queue", action="store_true", help="leave it to the worker")
    resume.set_defaults(func=cmd_jobs_resume)

    worker = sub.add_parser("worker", help="run queued jobs, each in its own process")
    worker.add_argument("--max-parallel", type=int, default=1)
    worker.add_argument("--poll", type=float, default=1.0)
    worker.set_defaults(func=cmd_worker)
