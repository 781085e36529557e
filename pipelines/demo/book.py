"""`unlearn demo --book`: the whole loop on a real book the model already knows (no teach stage),
judged by fact prompts in four groups and by perplexity on text in another register."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from pipelines import models
from pipelines.config import REPO_ROOT, ModelConfig
from pipelines.corpus import ingest
from pipelines.demo.run import DemoConfig, Stopwatch, forget_loop
from pipelines.evaluation.familiarity import mean_answer_probability, perplexity
from pipelines.store import Store
from pipelines.store.projects import create_project, get_project
from pipelines.training.loop import TrainControl
from pipelines.types import ArtifactKind, DocRole, UnlearnError
from pipelines.whp import project as whp

# The Alice benchmark's inputs (written for it; the book itself is read from where it lies).
BENCH_BOOKS = REPO_ROOT / "bench" / "books"
OTHER_TEXT = BENCH_BOOKS / "alice" / "other_text.md"  # perplexity only: never trained on
RETAIN_TEXT = BENCH_BOOKS / "alice" / "retain_text.md"  # the project's retain document
GROUPS = ("forget", "kept", "general", "fiction")
GROUP_NAMES = {
    "forget": "facts stated in the forgotten chapters",
    "kept": "facts from the other chapters",
    "general": "general knowledge",
    "fiction": "other famous fiction",
}
# The targets on the real-book benchmark: relative change of each row.
TARGETS = {"forget": -0.90, "kept": -0.70, "general": -0.03, "fiction": -0.10, "perplexity": 0.05}
CHAPTER = re.compile(r"^\s*CHAPTER\s+([IVXLC]+|\d+)\b.*$", re.IGNORECASE | re.MULTILINE)


def chapters(text: str) -> list[str]:
    """The book's chapters, each from its heading; front matter (title page, contents) dropped.
    A contents list repeats the headings, so a chapter is the last heading of each number."""
    starts: dict[str, int] = {}
    for match in CHAPTER.finditer(text):
        starts[match.group(1).upper()] = match.start()
    ordered = sorted(starts.values())
    if not ordered:
        raise UnlearnError('No chapter headings ("CHAPTER I") found in the book.')
    return [text[a:b].strip() for a, b in zip(ordered, [*ordered[1:], len(text)], strict=True)]


def pick_chapters(text: str, spec: str) -> str:
    """Chapters "6-7" or "1,3" (numbered from 1) joined as one forget document."""
    found = chapters(text)
    wanted = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        wanted.extend(range(int(low), int(high or low) + 1))
    if not wanted or max(wanted) > len(found) or min(wanted) < 1:
        raise UnlearnError(f"Chapters {spec!r}: the book has {len(found)}.")
    return "\n\n".join(found[i - 1] for i in wanted)


def read_facts(path: Path) -> dict[str, list[tuple[str, str]]]:
    """JSONL of {"group", "prompt", "answer"}; the groups are forget, kept, general, fiction."""
    facts: dict[str, list[tuple[str, str]]] = {group: [] for group in GROUPS}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("group") not in facts:
            raise UnlearnError(f"{path}:{number}: group must be one of {', '.join(GROUPS)}.")
        facts[row["group"]].append((row["prompt"], row["answer"]))
    return facts


def measure(source: str, store: Store, facts, other_text: str) -> dict[str, float]:
    """Each fact group's mean first-token answer probability, and perplexity on the other text."""
    loaded = models.load(ModelConfig(source=source), models_dir=store.settings.models_dir)
    model, tokenizer, device = loaded.model, loaded.tokenizer, loaded.device
    out = {group: mean_answer_probability(model, tokenizer, pairs, device)
           for group, pairs in facts.items()}  # fmt: skip
    out["perplexity"] = perplexity(model, tokenizer, [other_text], device=device)
    return out


def run(
    config: DemoConfig,
    book: Path,
    facts_file: Path,
    other_text_file: Path,
    forget_chapters: str,
    retain_text_file: Path,
    out_dir: Path,
    store: Store,
    actor,
    **callbacks,
) -> dict:
    """Propose → accept → publish → reinforce → labels → unlearn on the chosen chapters, then
    the fact groups and perplexity before and after."""
    started = time.perf_counter()
    facts, other_text = read_facts(facts_file), other_text_file.read_text(encoding="utf-8")
    forget = pick_chapters(book.read_text(encoding="utf-8"), forget_chapters)
    watch = Stopwatch(callbacks.get("on_stage"))
    project = book_project(store, actor, config, book, forget, retain_text_file, forget_chapters)
    control = TrainControl(progress=callbacks.get("on_train"))
    version = forget_loop(store, actor, project, config, watch, control, callbacks.get("on_blocks"))
    unlearned = str(whp.list_artifacts(store, project.id, ArtifactKind.UNLEARNED)[0].path)
    before, after = watch.run("evaluate", lambda: (
        measure(project.base_model, store, facts, other_text),
        measure(unlearned, store, facts, other_text)))  # fmt: skip
    summary = {
        "book": book.name, "forget_chapters": forget_chapters, "project": project.name,
        "model": config.model, "dictionary_terms": version.n_terms,
        "facts": {g: len(p) for g, p in facts.items()}, "before": before, "after": after,
        "change": {k: after[k] / before[k] - 1 for k in before if before[k]},
        "stages": watch.seconds, "wall_seconds": round(time.perf_counter() - started, 1),
        "config": asdict(config),
    }  # fmt: skip
    (out_dir / "report.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def book_title(text: str) -> str:
    """ "Title by Author" from a plain-text edition's title page (a title line, then a "by" line
    among the next few); "" when the opening has none. An all-capitals title is title-cased."""
    lines = [x.strip() for x in text[:3000].splitlines() if x.strip()]
    lines = [x for x in lines[:40] if not x.startswith("[")]  # [Illustration] and the like
    for n, line in enumerate(lines[1:5], 1):
        if line.lower().startswith("by "):
            title = lines[n - 1].title() if lines[n - 1].isupper() else lines[n - 1]
            return f"{title} by {line[3:].strip()}"
    return ""


def book_project(store, actor, config, book: Path, forget: str, retain_file: Path, spec: str):
    """A project whose forget document is the chosen chapters and retain document another text;
    its description (what passages and question probes are written about) is the book's title
    and author where its title page gives them."""
    name = f"Book run {book.stem} {whp.stamp()}"
    title = book_title(book.read_text(encoding="utf-8", errors="replace")[:3000])
    project = create_project(store, actor, name, config.model, title or f"The book {book.stem}")
    uploads = {
        DocRole.FORGET: ingest.Upload(f"{book.stem}-chapters-{spec}.txt", forget.encode()),
        DocRole.RETAIN: ingest.Upload(retain_file.name, retain_file.read_bytes()),
    }
    for role, upload in uploads.items():
        ingest.run(config.ingest, [upload], store=store, actor=actor, project_id=project.id,
                   role=role)  # fmt: skip
    return get_project(store, project.id)
