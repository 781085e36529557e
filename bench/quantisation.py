"""Benchmark: does the forgetting survive int8 and int4 quantisation? WHP's default run beside
gradient ascent and NPO, on the demo world or a real book, through the public commands.

`unlearn demo` (with --book for a real book) makes the project and its default WHP model; then
`unlearn unlearn --method grad_ascent|npo` from the same starting model with their prefilled
defaults; then `unlearn eval` of all of them with MUSE and the quantisation probe. Prints a table
and, last, a JSON line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.config import Settings
from pipelines.demo import book
from pipelines.store import open_store
from pipelines.store.projects import list_artifacts, list_projects
from pipelines.types import ArtifactKind

REPO = Path(__file__).resolve().parents[1]
UNLEARN = str(Path(sys.executable).parent / "unlearn")
COLUMNS = ("prob_familiarity", "quant8_prob", "quant4_prob", "quant8_returned", "quant4_returned",
           "verbmem", "knowmem_forget", "knowmem_retain", "privleak", "retain_ppl")  # fmt: skip


def unlearn(*argv: str, env: dict) -> None:
    print("$ unlearn " + " ".join(argv), flush=True)
    subprocess.run([UNLEARN, *argv], env=env, check=True)


def forget_facts(facts: Path, out: Path) -> Path:
    """The forget group of a book's fact file as an evaluation prompt file."""
    rows = [json.loads(line) for line in facts.read_text().splitlines() if line.strip()]
    lines = [json.dumps({"prompt": r["prompt"], "answer": r["answer"]}) for r in rows
             if r["group"] == "forget"]  # fmt: skip
    path = out / "forget-facts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", help="a real book (with --facts); default: the demo world")
    parser.add_argument("--facts", default=str(book.BENCH_BOOKS / "alice" / "facts.jsonl"))
    parser.add_argument("--chapters", default="6-7")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--methods", default="grad_ascent,npo")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="home-", dir=out))
    os.environ["UNLEARN_HOME"] = str(home)
    env = os.environ.copy()
    demo = ["demo", "--out", str(out / "demo"), "--model", args.model]
    if args.book:
        demo += ["--book", args.book, "--facts", args.facts, "--chapters", args.chapters]
        prompts = forget_facts(Path(args.facts), out)
    else:
        prompts = REPO / "data" / "demo" / "prompts.jsonl"
    unlearn(*demo, env=env)
    store = open_store(Settings.from_env())
    (project,) = list_projects(store)
    for method in args.methods.split(","):
        unlearn("unlearn", "--project", project.name, "--method", method, env=env)
    found = list_artifacts(store, project.id, ArtifactKind.UNLEARNED)[::-1]  # oldest first
    names = ["whp", *args.methods.split(",")]
    models = ["start", *(str(a.id) for a in found)]
    unlearn("eval", "--project", project.name, "--models", ",".join(models), "--out",
            str(out / "eval"), "--prompts", str(prompts), "--judge", "rules",
            "--utility-tasks", "", env=env)  # fmt: skip
    report = json.loads((out / "eval" / "report.json").read_text())
    rows = {}
    for name, model in zip(["start", *names], report["models"], strict=True):
        rows[name] = {key: model.get(key) for key in COLUMNS}
    print(f"\n{'':8}" + "".join(f"{c[:14]:>15}" for c in COLUMNS))
    for name, row in rows.items():
        cells = "".join(f"{'–' if v is None else f'{v:.4f}':>15}" for v in row.values())
        print(f"{name:8}{cells}")
    reference = report["meta"]["privleak_reference"]
    print(json.dumps({"world": args.book or "demo", "reference": reference, "rows": rows}))


if __name__ == "__main__":
    main()
