"""`unlearn probes ...`: cloze probes built from the book, and people's edits of them."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from pipelines.bootstrap import cli_session
from pipelines.cli.options import add_setting_flags, with_chosen_settings
from pipelines.evaluation import cloze
from pipelines.evaluation import project as eval_project
from pipelines.store.projects import get_project
from pipelines.types import UnlearnError


def _session(args):
    store, actor = cli_session()
    return store, actor, get_project(store, args.project)


def cmd_build(args) -> int:
    store, actor, project = _session(args)
    config = with_chosen_settings(args, cloze.ClozeConfig())
    artifact, probes = eval_project.build_probes(
        store, actor, project, config, progress=lambda what: print(what, file=sys.stderr),
        llm_passages=args.llm_passages,
    )  # fmt: skip
    print(f"Saved probe set {artifact}: {summary(probes)}")
    return 0


def summary(probes) -> str:
    counts = Counter((p.group, p.split) for p in probes if p.status == "kept")
    return ", ".join(f"{group} {split} {n}" for (group, split), n in sorted(counts.items()))


def cmd_export(args) -> int:
    store, _, project = _session(args)
    probes = eval_project.probe_set(store, project)
    if not probes:
        raise UnlearnError(
            f"Project {project.name!r} has no probe set: run `unlearn probes build`."
        )
    data = cloze.write_probes(probes)
    if args.out == "-":
        sys.stdout.write(data.decode())
    else:
        Path(args.out).write_bytes(data)
        print(f"Wrote {len(probes)} probes to {args.out}")
    return 0


def cmd_import(args) -> int:
    store, actor, project = _session(args)
    probes = cloze.read_probes(Path(args.file).read_bytes(), args.file)
    artifact = eval_project.save_probe_set(store, actor, project, probes, "import")
    print(f"Saved probe set {artifact}: {summary(probes)}")
    return 0


def add_parsers(sub) -> None:
    probes = sub.add_parser("probes", help="cloze probes from the book").add_subparsers(
        dest="probes_command", required=True
    )
    build = probes.add_parser("build", help="probes the base model knows, from the forget text")
    build.add_argument("--project", required=True)
    build.add_argument("--llm-passages", type=int, default=0,
                       help="passages the LLM writes question-answer probes from (0: none; "
                       "needs UNLEARN_LLM_MODEL)")  # fmt: skip
    add_setting_flags(build, cloze.ClozeConfig)
    build.set_defaults(func=cmd_build)
    export = probes.add_parser("export", help="the newest probe set as JSONL")
    export.add_argument("--project", required=True)
    export.add_argument("--out", default="-", help="a file, or - for standard output")
    export.set_defaults(func=cmd_export)
    load = probes.add_parser("import", help="store an edited JSONL as the newest probe set")
    load.add_argument("--project", required=True)
    load.add_argument("--file", required=True)
    load.set_defaults(func=cmd_import)
