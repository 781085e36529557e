"""`unlearn passages ...`: passages the model writes about the target, their review, and
adding the approved ones to the forget set."""

from __future__ import annotations

from pipelines.augment import passages as gen
from pipelines.augment import project as augment
from pipelines.bootstrap import cli_session
from pipelines.cli.jobs import run_with_bar
from pipelines.cli.options import add_setting_flags, with_chosen_settings
from pipelines.runs import jobs, stages
from pipelines.store.projects import get_project
from pipelines.types import UnlearnError


def _session(args):
    store, actor = cli_session()
    return store, actor, get_project(store, args.project)


def cmd_generate(args) -> int:
    store, actor, project = _session(args)
    job = stages.PassagesJob(with_chosen_settings(args, gen.PassageConfig()))
    job_id = jobs.launch(store, actor, project, "passages", job)
    if args.queue:
        print(f"Queued job {job_id}; `unlearn worker` runs it.")
        return 0
    return run_with_bar(store, job_id, "passages")


def _set_id(store, project, given: int | None) -> int:
    sets = augment.passage_sets(store, project)
    if not sets:
        raise UnlearnError(
            f"Project {project.name!r} has no passages: `unlearn passages generate`."
        )
    return given or sets[0].id


def cmd_list(args) -> int:
    store, _, project = _session(args)
    set_id = _set_id(store, project, args.set)
    for number, item in enumerate(augment.in_force(store, project, set_id), 1):
        p = item.passage
        who = f" by {item.reviewer}" if item.reviewer else ""
        print(
            f"{number}\t{p.status}{who}\t{p.subject}\t{p.format}\t{' '.join(p.text.split())[:90]}"
        )
    return 0


def cmd_review(args) -> int:
    store, actor, project = _session(args)
    set_id = _set_id(store, project, args.set)
    augment.review(store, actor, project, set_id, args.item - 1, args.decision, args.text or "")
    print(f"Passage {args.item} of set {set_id}: {args.decision}.")
    return 0


def cmd_add(args) -> int:
    store, actor, project = _session(args)
    set_id = _set_id(store, project, args.set)
    added = augment.add_approved(store, actor, project, set_id)
    print(f"Added {added} approved passages to the forget set of {project.name!r}.")
    return 0


def add_parsers(sub) -> None:
    group = sub.add_parser("passages", help="forget text the model writes about the target")
    actions = group.add_subparsers(dest="passages_command", required=True)
    generate = actions.add_parser("generate", help="write passages about the dictionary's terms")
    generate.add_argument("--project", required=True)
    generate.add_argument("--queue", action="store_true", help="leave it to the worker")
    add_setting_flags(generate, gen.PassageConfig)
    generate.set_defaults(func=cmd_generate)
    for name, func, help_text in (
        ("list", cmd_list, "each passage with its status and reviewer"),
        ("review", cmd_review, "approve, reject or edit one passage"),
        ("add", cmd_add, "add the approved passages to the forget set"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--project", required=True)
        action.add_argument("--set", type=int, help="the passage set's artefact id (newest)")
        action.set_defaults(func=func)
        if name == "review":
            action.add_argument("--item", type=int, required=True, help="numbered from 1")
            action.add_argument("--decision", choices=augment.DECISIONS, required=True)
            action.add_argument("--text", help="the passage as edited (--decision edit)")
