"""What each command may do, checked before it runs: the CLI's identity (UNLEARN_USER) goes
through the same permission layer as the app, and every write is audited."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.store.access import audit, authorize

READ = ""  # a command that changes nothing people made

# "module.function" of a command -> the permission it needs (READ: none). A command missing
# here is refused, so a new command cannot slip past the check.
COMMANDS: dict[str, str] = {
    "pipelines.cli.main.cmd_app": READ,  # the app signs people in itself
    "pipelines.cli.main.cmd_project_create": "project.create",
    "pipelines.cli.main.cmd_project_list": READ,
    "pipelines.cli.main.cmd_ingest": "document.ingest",
    "pipelines.cli.main.cmd_demo_data": READ,  # writes generated text files, not the store
    "pipelines.cli.main.cmd_users_add": "user.manage",
    "pipelines.cli.main.cmd_users_list": "user.manage",
    "pipelines.cli.main.cmd_labels_generate": "job.launch",
    "pipelines.cli.main.cmd_labels_inspect": READ,
    "pipelines.cli.main.cmd_labels_export": "project.export",
    "pipelines.cli.main.cmd_eval": "job.launch",
    "pipelines.cli.main.cmd_eval_prompts": "artifact.register",
    "pipelines.cli.main.cmd_eval_qa": "artifact.register",
    "pipelines.cli.anchors.cmd_propose": "anchors.propose",
    "pipelines.cli.anchors.cmd_accept_all": "anchors.propose",
    "pipelines.cli.anchors.cmd_terms": READ,
    "pipelines.cli.anchors.cmd_publish": "dictionary.publish",
    "pipelines.cli.anchors.cmd_export": "project.export",
    "pipelines.cli.anchors.cmd_import": "dictionary.publish",
    "pipelines.cli.anchors.cmd_ls_push": "project.export",
    "pipelines.cli.anchors.cmd_ls_pull": "project.import",
    "pipelines.cli.archive.cmd_export": "project.export",
    "pipelines.cli.archive.cmd_import": "project.import",
    "pipelines.cli.archive.cmd_backup": "store.backup",
    "pipelines.cli.archive.cmd_restore": "store.restore",
    "pipelines.cli.archive.cmd_audit": "audit.read",
    "pipelines.cli.demo.cmd_demo": "project.create",
    "pipelines.cli.jobs.cmd_stage": "job.launch",
    "pipelines.cli.jobs.cmd_jobs_list": READ,
    "pipelines.cli.jobs.cmd_jobs_show": READ,
    "pipelines.cli.jobs.cmd_jobs_cancel": "job.control",
    "pipelines.cli.jobs.cmd_jobs_resume": "job.control",
    "pipelines.cli.jobs.cmd_worker": "job.control",
    "pipelines.cli.passages.cmd_generate": "job.launch",
    "pipelines.cli.passages.cmd_list": READ,
    "pipelines.cli.passages.cmd_review": "review.submit",
    "pipelines.cli.passages.cmd_add": "document.ingest",
    "pipelines.cli.probes.cmd_build": "artifact.register",
    "pipelines.cli.probes.cmd_export": "project.export",
    "pipelines.cli.probes.cmd_import": "probes.edit",
}
SECRET_OPTIONS = {"password", "token", "api_key"}


def command_name(func: Callable) -> str:
    return f"{func.__module__}.{func.__name__}"


def permission_for(func: Callable) -> str:
    """The permission a command needs; refuses a command nobody declared."""
    from pipelines.types import UnlearnError

    name = command_name(func)
    if name not in COMMANDS:
        raise UnlearnError(f"{name} declares no permission; it is refused until it does.")
    return COMMANDS[name]


def check(func: Callable, args) -> None:
    """Refuse the command unless the CLI's identity may run it; audit it when it writes."""
    from pipelines.bootstrap import cli_session

    permission = permission_for(func)
    if permission == READ:
        return
    store, actor = cli_session()
    authorize(store, actor, permission)
    given = {k: v for k, v in vars(args).items() if v not in (None, "", False)}
    options = {k: str(v) for k, v in given.items() if k != "func" and k not in SECRET_OPTIONS}
    with store.session() as s:
        action = f"cli.{func.__name__.removeprefix('cmd_')}"
        audit(s, actor, action, "command", None, options=options)
