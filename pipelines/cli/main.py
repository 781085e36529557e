"""`unlearn <stage>`: one subcommand per stage, plus `unlearn app`; acts as a local user."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy.exc import IntegrityError, OperationalError
from tqdm import tqdm

from pipelines import bootstrap, models
from pipelines.anchors.dictionary import dictionary_for
from pipelines.bootstrap import cli_session
from pipelines.cli import anchors as cli_anchors
from pipelines.cli import archive as cli_archive
from pipelines.cli import demo as cli_demo
from pipelines.cli import jobs as cli_jobs
from pipelines.cli import passages as cli_passages
from pipelines.cli import permissions
from pipelines.cli import probes as cli_probes
from pipelines.cli.options import add_setting_flags, with_chosen_settings
from pipelines.config import DEFAULT_MODEL, REPO_ROOT
from pipelines.corpus import ingest
from pipelines.demo.world import DEFAULT_SEED
from pipelines.evaluation.judge import JUDGES
from pipelines.store import disk_full
from pipelines.store.projects import create_project, get_project, list_projects
from pipelines.store.users import create_user, list_users
from pipelines.types import DocRole, IngestError, Role, UnlearnError

APP_FILE = REPO_ROOT / "app" / "streamlit_app.py"


def cmd_app(args) -> int:
    store, actor = cli_session()
    if bootstrap.seed_demo(store, actor):
        print("Seeded the Demo project.")
    print(f"Data directory: {store.settings.home}")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.headless",
        "true",
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--client.showErrorDetails",
        args.error_details,  # none: no traceback, path or type reaches a page (logs keep them)
    ]
    children = [subprocess.Popen(command, env=os.environ.copy())]
    if not args.no_worker:
        children.append(_start_worker())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so that the children stop too
    try:
        return children[0].wait()
    finally:
        for child in children:  # running jobs have their own process groups and go on
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def _start_worker() -> subprocess.Popen:
    """The job worker beside the app: `unlearn worker` in its own process."""
    print("Starting the job worker.", flush=True)
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli.main", "worker"])


def cmd_project_create(args) -> int:
    store, actor = cli_session()
    project = create_project(store, actor, args.name, args.model, args.target, models.check_source)
    print(f"Created project {project.name!r} (id {project.id}) on model {project.base_model}.")
    return 0


def cmd_project_list(_args) -> int:
    store, _ = cli_session()
    for p in list_projects(store):
        print(f"{p.id}\t{p.name}\t{p.base_model}\tforget={p.n_forget}\tretain={p.n_retain}")
    return 0


def cmd_ingest(args) -> int:
    store, actor = cli_session()
    project = get_project(store, args.project)
    uploads, unreadable = [], []
    for f in args.files:
        try:
            uploads.append(ingest.read_file(Path(f), project.config.ingest.max_bytes))
        except IngestError as err:
            unreadable.append(str(err))
    with tqdm(total=len(uploads), unit="file", desc="ingest") as bar:
        report = ingest.run(
            project.config.ingest,
            uploads,
            store=store,
            actor=actor,
            project_id=project.id,
            role=DocRole(args.role),
            progress=lambda i, n, name: bar.update(i - bar.n),
        )
    for name, doc_id, n_chunks in report.added:
        print(f"added   {name}: document {doc_id}, {n_chunks} chunks")
    for name in report.duplicates:
        print(f"skipped {name}: same content already in the project")
    for reason in unreadable + [reason for _name, reason in report.refused]:
        print(f"refused {reason}", file=sys.stderr)
    return 1 if report.refused or unreadable else 0


def cmd_demo_data(args) -> int:
    from pipelines.demo.text import write_demo

    counts = write_demo(Path(args.out), args.seed)
    for name, words in counts.items():
        print(f"{name}: {words} words")
    return 0


def cmd_users_add(args) -> int:
    store, actor = cli_session()
    password = args.password or os.environ.get("UNLEARN_NEW_PASSWORD")
    if not password:
        raise UnlearnError("Give --password or set UNLEARN_NEW_PASSWORD.")
    user = create_user(store, actor, args.username, password, Role(args.role))
    print(f"Created user {user.username!r} with role {user.role}.")
    return 0


def cmd_users_list(_args) -> int:
    store, _ = cli_session()
    for u in list_users(store):
        print(f"{u['username']}\t{u['role']}")
    return 0


def _label_config(args):
    from pipelines.whp.labels import LabelConfig

    return with_chosen_settings(args, LabelConfig())


def cmd_labels_generate(args) -> int:
    from pipelines.whp import project as whp

    store, actor = cli_session()
    project = get_project(store, args.project)
    if args.processes > 1 or args.accelerate_config:
        return _labels_on_processes(store, actor, project, args)
    dictionary = dictionary_for(store, project, args.dictionary or "")
    bars = {name: tqdm(unit="block", desc=name) for name in ("labels", "review items")}

    def advance(name: str):
        def progress(done: int, total: int) -> None:
            bars[name].total = total
            bars[name].update(done - bars[name].n)

        return progress

    artifact, summary = whp.generate_project_labels(
        store,
        actor,
        project,
        dictionary,
        _label_config(args),
        out_name=args.name,
        progress=advance("labels"),
        review_progress=advance("review items"),
        compare_block=args.compare_logits,
    )
    for bar in bars.values():
        bar.close()
    print(f"Label set saved as artefact {artifact}: {json.dumps(summary)}")
    return 0


def _labels_on_processes(store, actor, project, args) -> int:
    """The labels stage as a job under `accelerate launch`: its batches shared out."""
    from pipelines.runs import jobs, stages

    launch = stages.Launch(args.processes, args.accelerate_config or "")
    config = stages.LabelsJob(args.dictionary or "", _label_config(args), launch, args.name or "")
    return cli_jobs.run_with_bar(store, jobs.launch(store, actor, project, "labels", config),
                                 "labels")  # fmt: skip


def cmd_labels_inspect(args) -> int:
    from pipelines.whp import labels as generic_labels
    from pipelines.whp import project as whp

    store, _ = cli_session()
    project = get_project(store, args.project)
    rows = generic_labels.inspect_block(
        _label_config(args),
        whp.forget_texts(store, project),
        dictionary_for(store, project, args.dictionary or ""),
        models=whp.label_models(store, project, whp.latest_reinforced(store, project)),
        block_index=args.block,
        top=args.top,
    )
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def cmd_labels_export(args) -> int:
    from pipelines.whp import project as whp

    store, _ = cli_session()
    project = get_project(store, args.project)
    label_set = whp.find_label_set(store, project, args.label_set)
    out_path, counts = whp.export_project_labels(store, project, label_set)
    print(f"Exported {out_path} with review decisions applied: {json.dumps(counts)}")
    return 0


def cmd_eval(args) -> int:
    from pipelines.evaluation import evaluate
    from pipelines.evaluation import project as eval_project
    from pipelines.evaluation.muse import MuseConfig
    from pipelines.evaluation.robustness import RobustnessConfig
    from pipelines.evaluation.utility import resolve_tasks

    store, actor = cli_session()
    project = get_project(store, args.project)
    if args.processes > 1 or args.accelerate_config:
        return _eval_on_processes(store, actor, project, args)
    prompts = eval_project.prompt_file(args.prompts or "")
    config = evaluate.EvalConfig(max_new_tokens=args.max_new_tokens, sampled=args.sampled)
    refs = eval_project.model_refs(args.models)
    probes = RobustnessConfig(relearn_steps=args.relearn_steps) if args.robustness else None
    steps = 1 + bool(probes) + args.muse + args.quantisation
    with tqdm(total=len(refs) * steps, desc="eval", unit="step") as bar:
        built = eval_project.run(
            store,
            project,
            refs,
            Path(args.out),
            prompts=prompts,
            config=config,
            judge_kind=args.judge,
            measures=eval_project.Measures(
                robustness=probes,
                utility_tasks=tuple(resolve_tasks(args.utility_tasks)),
                muse=MuseConfig() if args.muse else None,
                quantisation=args.quantisation,
                reference=args.privleak_reference,
            ),
            progress=lambda what: (bar.update(1), bar.set_postfix_str(what)),
        )
    for model in built["models"]:
        figures = {key: v for key, v in model.items() if key != "name" and v is not None}
        figures = {k: v for k, v in figures.items() if not k.endswith("_change")}
        print(f"{model['name']}: {json.dumps(figures)}")
    print(f"Wrote {args.out}/report.json and {args.out}/report.html")
    return 0


def _eval_on_processes(store, actor, project, args) -> int:
    """The evaluate stage as a job under `accelerate launch`; its report copied to --out."""
    from pipelines.evaluation.evaluate import EvalConfig
    from pipelines.runs import jobs, stages
    from pipelines.store import jobs as rows

    config = stages.EvaluateJob(
        models=args.models, prompts_file=args.prompts or "", judge=args.judge,
        robustness=args.robustness, relearn_steps=args.relearn_steps,
        utility_tasks=args.utility_tasks, muse=args.muse, quantisation=args.quantisation,
        privleak_reference=args.privleak_reference,
        eval=EvalConfig(max_new_tokens=args.max_new_tokens, sampled=args.sampled),
        launch=stages.Launch(args.processes, args.accelerate_config or ""),
    )  # fmt: skip
    job_id = jobs.launch(store, actor, project, "evaluate", config)
    code = cli_jobs.run_with_bar(store, job_id, "eval")
    if code == 0:
        written = Path(rows.get_job(store, job_id).outputs["report"]).parent
        shutil.copytree(written, args.out, dirs_exist_ok=True)
        print(f"Wrote {args.out}/report.json and {args.out}/report.html")
    return code


def cmd_eval_prompts(args) -> int:
    from pipelines.evaluation import project as eval_project

    return _saved_set(args, eval_project.build_prompts, "prompt set")


def cmd_eval_qa(args) -> int:
    from pipelines.evaluation import project as eval_project

    return _saved_set(args, eval_project.build_qa, "QA set")


def _saved_set(args, build, what: str) -> int:
    """A new prompt or QA set for the project from --source, with what was skipped and why."""
    store, actor = cli_session()
    project = get_project(store, args.project)
    artifact, failures = build(store, actor, project, args.source, args.file or "", args.passages)
    for failure in failures:
        print(f"skipped: {failure}")
    print(f"Saved {what} {artifact}; `unlearn eval` uses the newest set.")
    return 0


def _label_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True)
    parser.add_argument(
        "--dictionary", help="JSON {term: translation} (default: the newest published version)"
    )
    from pipelines.whp.labels import LabelConfig

    add_setting_flags(parser, LabelConfig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unlearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    app = sub.add_parser("app", help="serve the Streamlit app (seeds the Demo project once)")
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--no-worker", action="store_true", help="do not start `unlearn worker`")
    app.add_argument(
        "--error-details",
        default="none",
        choices=["none", "type", "stacktrace", "full"],
        help="what an unexpected error shows on the page (the log keeps it all)",
    )
    app.set_defaults(func=cmd_app)

    project = sub.add_parser("project", help="create or list projects").add_subparsers(
        dest="action", required=True
    )
    create = project.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--model", default=DEFAULT_MODEL, help="packaged name, directory, .gguf or hub id"
    )
    create.add_argument("--target", default="", help="what the model should forget")
    create.set_defaults(func=cmd_project_create)
    project.add_parser("list").set_defaults(func=cmd_project_list)

    ing = sub.add_parser("ingest", help="add forget or retain documents to a project")
    ing.add_argument("--project", required=True)
    ing.add_argument("--role", choices=[r.value for r in DocRole], required=True)
    ing.add_argument("files", nargs="+")
    ing.set_defaults(func=cmd_ingest)

    demo = sub.add_parser("demo-data", help="write the demo world's files")
    demo.add_argument("--out", default=str(bootstrap.DEMO_DIR))
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.set_defaults(func=cmd_demo_data)

    users = sub.add_parser("users", help="manage local users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add")
    add.add_argument("--username", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--password", help="or set UNLEARN_NEW_PASSWORD")
    add.set_defaults(func=cmd_users_add)
    users.add_parser("list").set_defaults(func=cmd_users_list)

    cli_jobs.add_parsers(sub)
    cli_archive.add_parsers(sub)
    cli_anchors.add_parsers(sub)
    cli_demo.add_parsers(sub)
    cli_probes.add_parsers(sub)
    cli_passages.add_parsers(sub)

    evaluation = sub.add_parser("eval", help="familiarity and retain perplexity of models")
    evaluation.add_argument("--project", required=True)
    evaluation.add_argument(
        "--models",
        default="start,unlearned",
        help="comma list, the first is the baseline: base, start, taught, reinforced, "
        "unlearned (newest), an artefact id, or a model source",
    )
    evaluation.add_argument("--out", required=True)
    evaluation.add_argument("--prompts", help="JSONL: prompt, optional expected")
    evaluation.add_argument("--max-new-tokens", type=int, default=24)
    evaluation.add_argument("--sampled", action="store_true", help="also a sampled completion")
    evaluation.add_argument("--judge", choices=JUDGES, default="auto")
    evaluation.add_argument(
        "--robustness",
        action="store_true",
        help="also reframed/paraphrased/in-context prompts and the relearning probe",
    )
    evaluation.add_argument("--relearn-steps", type=int, default=8)
    evaluation.add_argument(
        "--utility-tasks",
        default="auto",
        help="lm-eval tasks, comma list (needs the utility extra); auto: the local task files "
        "if the harness is installed; '' for none",
    )
    evaluation.add_argument(
        "--muse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="MUSE's VerbMem, KnowMem (the project's QA set) and PrivLeak",
    )
    evaluation.add_argument(
        "--quantisation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="probability familiarity again after int8 and int4 weight quantisation",
    )
    evaluation.add_argument(
        "--privleak-reference",
        default="auto",
        help="PrivLeak's reference model: a model reference, none (chance), or auto (base where "
        "the project taught it the forget text, else none)",
    )
    evaluation.add_argument("--processes", type=int, default=1,
                            help=">1: accelerate launch, batches shared out")  # fmt: skip
    evaluation.add_argument("--accelerate-config", help="accelerate config file")
    evaluation.set_defaults(func=cmd_eval)

    qa = sub.add_parser("eval-qa", help="store a project's question-answer pairs (KnowMem)")
    qa.add_argument("--project", required=True)
    qa.add_argument("--source", choices=["llm", "file"], required=True)
    qa.add_argument("--file", help="JSONL (question, answer, set: forget|retain), --source file")
    qa.add_argument("--passages", type=int, default=8, help="passages of each set the LLM reads")
    qa.set_defaults(func=cmd_eval_qa)

    prompts = sub.add_parser("eval-prompts", help="store a project's evaluation prompt set")
    prompts.add_argument("--project", required=True)
    prompts.add_argument("--source", choices=["llm", "anchor-cut", "file"], required=True)
    prompts.add_argument("--file", help="JSONL (prompt, optional expected) for --source file")
    prompts.add_argument("--passages", type=int, default=10, help="forget passages the LLM reads")
    prompts.set_defaults(func=cmd_eval_prompts)

    labels = sub.add_parser("labels", help="generic labels (WHP)").add_subparsers(
        dest="action", required=True
    )
    generate = labels.add_parser("generate", help="write a label set for the forget corpus")
    _label_options(generate)
    generate.add_argument("--name", help="output folder name; an existing one is resumed")
    generate.add_argument("--processes", type=int, default=1,
                          help=">1: accelerate launch, batches shared out")  # fmt: skip
    generate.add_argument("--accelerate-config", help="accelerate config file")
    generate.add_argument(
        "--compare-logits",
        type=int,
        metavar="BLOCK",
        help="also write compare_block_BLOCK.jsonl: top tokens of v_B', v_R, v_generic",
    )
    generate.set_defaults(func=cmd_labels_generate)
    inspect = labels.add_parser("inspect", help="why each label of one block was chosen")
    _label_options(inspect)
    inspect.add_argument("--block", type=int, required=True)
    inspect.add_argument("--top", type=int, default=3)
    inspect.set_defaults(func=cmd_labels_inspect)
    export = labels.add_parser("export", help="the label set with review decisions applied")
    export.add_argument("--project", required=True)
    export.add_argument("--label-set", type=int, help="artefact id (default: the newest)")
    export.set_defaults(func=cmd_labels_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        permissions.check(args.func, args)
        return args.func(args)
    except UnlearnError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (OSError, OperationalError) as err:
        if not disk_full(err):
            raise
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: the disk is full{where}; free space and run the command again. "
              "What was stored before is untouched.", file=sys.stderr)  # fmt: skip
        return 2
    except IntegrityError:  # the message would quote the rows; say what happened instead
        print("error: someone else wrote the same record at the same moment (the same name, "
              "file or item); nothing of this command was stored. Run it again.",
              file=sys.stderr)  # fmt: skip
        return 2


if __name__ == "__main__":
    sys.exit(main())
