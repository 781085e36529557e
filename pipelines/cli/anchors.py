"""`unlearn anchors ...` and `unlearn labelstudio ...`: the anchor dictionary from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.bootstrap import cli_session
from pipelines.store.projects import get_project
from pipelines.types import UnlearnError


def _session(args):
    store, actor = cli_session()
    return store, actor, get_project(store, args.project)


def cmd_propose(args) -> int:
    store, actor, project = _session(args)
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    config = anchors.ProposeConfig(sources=sources, min_ratio=args.min_ratio)
    bar = tqdm(unit="chunk")
    showing = [""]  # the proposer the bar counts for

    def progress(what: str, done: int, total: int) -> None:
        if what != showing[0]:
            showing[0] = what
            bar.reset(total=total)
            bar.set_description(what)
        bar.update(done - bar.n)

    result = anchor_project.propose_project(store, actor, project, config, progress=progress)
    bar.close()
    for source, n in result.counts().items():
        print(f"{source}: {n} spans")
    for failure in result.failures:
        print(f"failed: chunk {failure['chunk_id']} ({failure['source']}): {failure['reason']}")
    if result.cached_calls:
        print(f"{result.cached_calls} LLM replies came from the cache")
    return 0


def cmd_accept_all(args) -> int:
    store, actor, project = _session(args)
    n_chunks, n_spans = dictionary.accept_all(store, actor, project, args.min_score)
    print(f"Accepted {n_spans} spans in {n_chunks} chunks (score ≥ {args.min_score}).")
    flagged = dictionary.world_flagged(store, project)
    if flagged:
        print(f"Left for a person, flagged as world knowledge ({len(flagged)}): "
              + ", ".join(f"{term} ({why})" for term, why in flagged))  # fmt: skip
    return 0


def cmd_terms(args) -> int:
    store, _, project = _session(args)
    terms = dictionary.consolidate(store, project)
    rows = sorted((t.row() for t in terms.values()), key=lambda r: (r["status"], r["term"]))
    for r in rows:
        if args.status and r["status"] != args.status:
            continue
        extra = f"  [{r['conflicts']}]" if r["conflicts"] else ""
        print(f"{r['status']:9} {r['term']} -> {r['translation']} ({r['label']}){extra}")
    return 0


def cmd_publish(args) -> int:
    store, actor, project = _session(args)
    version = dictionary.publish(store, actor, project)
    print(f"Published dictionary v{version.version}: {version.n_terms} terms, {version.path}")
    return 0


def _version(store, project, number: int | None) -> dictionary.Version:
    found = dictionary.versions(store, project)
    if not found:
        raise UnlearnError(f"Project {project.name!r} has no published dictionary yet.")
    if number is None:
        return found[0]
    for v in found:
        if v.version == number:
            return v
    raise UnlearnError(
        f"No dictionary version {number}; there are {', '.join(str(v.version) for v in found)}."
    )


def cmd_export(args) -> int:
    store, _, project = _session(args)
    document = dictionary.read_version(_version(store, project, args.version).path)
    fmt = args.format or ("csv" if args.out and args.out.endswith(".csv") else "json")
    data = dictionary.export_csv(document) if fmt == "csv" else dictionary.export_json(document)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"Wrote {len(document['terms'])} terms to {args.out}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def cmd_import(args) -> int:
    store, actor, project = _session(args)
    path = Path(args.file)
    if not path.is_file():
        raise UnlearnError(f"No file {path}.")
    version = dictionary.import_dictionary(store, actor, project, path.read_bytes(), path.name)
    print(f"Imported {version.n_terms} terms as dictionary v{version.version}.")
    return 0


def cmd_ls_push(args) -> int:
    from pipelines.anchors import label_studio

    store, _, project = _session(args)
    client = label_studio.connect(label_studio.Connection.from_env(args.url, args.token))
    result = anchor_project.push_to_label_studio(client, project, store)
    print(
        f"Label Studio project {result.ls_project_id}: {result.created} tasks added, "
        f"{result.skipped} already there."
    )
    return 0


def cmd_ls_pull(args) -> int:
    from pipelines.anchors import label_studio

    store, actor, project = _session(args)
    client = label_studio.connect(label_studio.Connection.from_env(args.url, args.token))
    bar = tqdm(unit="annotation", desc="pull")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done + 1 - bar.n)

    result = anchor_project.pull_from_label_studio(client, project, store, actor, progress)
    bar.close()
    print(f"Stored {result.stored} annotations; {result.unchanged} unchanged.")
    for failure in result.failures:
        print(f"failed: {failure}")
    return 1 if result.failures else 0


def add_parsers(sub) -> None:
    group = sub.add_parser("anchors", help="propose, accept, publish, export, import anchor terms")
    actions = group.add_subparsers(dest="action", required=True)
    propose = actions.add_parser("propose", help="machine proposals for every forget chunk")
    propose.add_argument("--sources", default="ner,stats", help=f"comma list of {anchors.SOURCES}")
    propose.add_argument("--min-ratio", type=float, default=anchors.ProposeConfig.min_ratio)
    propose.set_defaults(func=cmd_propose)
    accept = actions.add_parser("accept-all", help="accept every proposal above a score")
    accept.add_argument("--min-score", type=float, default=0.5)
    accept.set_defaults(func=cmd_accept_all)
    terms = actions.add_parser("terms", help="every term with its votes and conflicts")
    terms.add_argument("--status", choices=["accepted", "rejected", "conflict", "proposed"])
    terms.set_defaults(func=cmd_terms)
    actions.add_parser("publish", help="freeze the dictionary as a new version").set_defaults(
        func=cmd_publish
    )
    export = actions.add_parser("export", help="a published version as JSON or CSV")
    export.add_argument("--version", type=int, help="default: the newest")
    export.add_argument("--format", choices=["json", "csv"])
    export.add_argument("--out", help="file to write (default: stdout)")
    export.set_defaults(func=cmd_export)
    imported = actions.add_parser("import", help="publish a JSON or CSV dictionary file")
    imported.add_argument("file")
    imported.set_defaults(func=cmd_import)

    ls_group = sub.add_parser("labelstudio", help="round trip anchor tasks through Label Studio")
    ls_actions = ls_group.add_subparsers(dest="action", required=True)
    for name, func, text in [
        ("push", cmd_ls_push, "add a task per chunk, with the proposals as predictions"),
        ("pull", cmd_ls_pull, "store finished annotations as their annotators' submissions"),
    ]:
        action = ls_actions.add_parser(name, help=text)
        action.add_argument("--url", help="default: UNLEARN_LS_URL")
        action.add_argument("--token", help="default: UNLEARN_LS_TOKEN")
        action.set_defaults(func=func)

    for parser in [*actions.choices.values(), *ls_actions.choices.values()]:
        parser.add_argument("--project", required=True)
