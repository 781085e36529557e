"""Benchmark: `unlearn eval` time and peak memory as the project's forget and retain text grow.

For each size, a fresh store and project get about N tokens of forget text and N of retain text
(copies of the demo books, varied by chapter number), then `unlearn eval` measures the base model
with the demo's prompts, the rule judge, MUSE and the quantisation probe. Each size runs in its
own process, so its peak RSS is its own. Prints one JSON line per size."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.per_size import each_size
from pipelines.bootstrap import DEMO_DIR

UNLEARN = str(Path(sys.executable).parent / "unlearn")
WORDS_PER_TOKEN = 0.75  # close enough for sizing the copies; the JSON reports real counts


def varied_copies(folder: Path, n_tokens: int) -> list[str]:
    """The folder's books, copied with their chapters renumbered, to about n_tokens tokens."""
    books = [p.read_text() for p in sorted(folder.glob("*.md"))]
    per_copy = sum(len(b.split()) for b in books) / WORDS_PER_TOKEN
    copies = max(1, round(n_tokens / per_copy))
    return [b.replace("Chapter", f"Part {i} chapter") for i in range(copies) for b in books]


def write_texts(texts: list[str], folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    for i, text in enumerate(texts):
        (folder / f"part-{i:04d}.md").write_text(text)
    return sorted(str(p) for p in folder.glob("*.md"))


def unlearn(*argv: str) -> None:
    subprocess.run([UNLEARN, *argv], check=True, stdout=subprocess.DEVNULL)


def measure(n_tokens: int, args) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ.setdefault("UNLEARN_ADMIN_PASSWORD", "benchpass1")
        os.environ["UNLEARN_HOME"] = str(root / "home")
        forget = write_texts(varied_copies(DEMO_DIR / "forget", n_tokens), root / "forget")
        retain = write_texts(varied_copies(DEMO_DIR / "retain", n_tokens), root / "retain")
        unlearn("project", "create", "--name", "growth", "--model", args.model)
        unlearn("ingest", "--project", "growth", "--role", "forget", *forget)
        unlearn("ingest", "--project", "growth", "--role", "retain", *retain)
        flags = ["--prompts", str(DEMO_DIR / "prompts.jsonl"), "--judge", "rules"]
        flags += ["--utility-tasks", "", "--out", str(root / "eval")]
        started = time.perf_counter()
        unlearn("eval", "--project", "growth", "--models", "base", *flags)
        seconds = time.perf_counter() - started
        words = sum(len(Path(p).read_text().split()) for p in forget + retain)
    return {
        "model": args.model,
        "tokens_asked": n_tokens,
        "words_forget_and_retain": words,
        "eval_s": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tokens", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    each_size("bench.eval_growth", "--tokens", args.tokens, ["--model", args.model],
              (lambda n: measure(n, args)) if args.single else None)  # fmt: skip


if __name__ == "__main__":
    main()
