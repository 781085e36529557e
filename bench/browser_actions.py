"""Benchmark: what an annotator and a reviewer wait for in chromium on a 1,000-chunk project.

The whole of Moby-Dick (read from ../shared/data/books, 1,274 chunks at the default chunk size)
is one project: offline proposals, accept-all, publish, reinforce and generic labels on a tiny
random-weight model built here from the packaged SmolLM2's tokenizer (the pages' work does not
depend on what the model knows). The app is served as `unlearn app` serves it; a real chromium
signs in as an annotator and a reviewer and times each action from the click until the page
shows its result and the app is idle again. The last line is JSON with each action's p50 and
p95 in ms (switch chunk, submit chunk, accept label, reject label) and the project's size.

    .venv/bin/python -m bench.browser_actions [--book ../shared/data/books/moby-dick.txt]
                                              [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from pipelines import bootstrap
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.demo import run as demo_run
from pipelines.models import load_tokenizer
from pipelines.store.anchors import forget_chunks
from pipelines.store.projects import create_project, get_project
from pipelines.store.users import create_user
from pipelines.training.loop import TrainControl
from pipelines.types import DocRole, Role
from tests.e2e.browser import ARGS, CHROMIUM, settle, sign_in, watched
from tests.servers import free_port, running

BOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "books" / "moby-dick.txt"
PASSWORD = "bench-password"
ADMIN_PASSWORD = "bench-admin-password"

# True once the element (the first matching `css` whose text starts with `prefix`) reads other
# than `before`, a script run has been seen since the click, and the app is idle again.
CHANGED = """
([css, prefix, before]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (!(window.__lastRun > window.__lastAction)) return false;
  const el = [...document.querySelectorAll(css)].find(e => e.innerText.startsWith(prefix));
  return !!el && el.innerText !== before;
}
"""


def tiny_model(folder: Path, models_dir: Path) -> Path:
    """A two-layer random-weight Llama on the packaged SmolLM2's tokenizer, saved to folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(demo_run.DEFAULT_MODEL, models_dir=models_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def big_project(store, admin, book: Path, model: Path):
    """The book as one project's forget set, with a published dictionary and a label set."""
    project = create_project(store, admin, "Whole book", str(model))
    upload = ingest.Upload(book.name, book.read_bytes())
    ingest.run(IngestConfig(), [upload], store=store, actor=admin, project_id=project.id,
               role=DocRole.FORGET)  # fmt: skip
    project = get_project(store, project.id)
    config = demo_run.DemoConfig(model=str(model))
    watch = demo_run.Stopwatch(None)
    demo_run.dictionary_and_reinforce(store, admin, project, config, watch, TrainControl())
    demo_run.labels_stage(store, admin, project, config.labels, watch, None)
    print(f"built: {dict(watch.seconds)}", flush=True)
    return project


def timed(page, act, css: str, prefix: str = "") -> float:
    """Milliseconds from the action until the element reads otherwise and the app is idle."""
    before = page.evaluate(
        "([css, prefix]) => ([...document.querySelectorAll(css)]"
        ".find(e => e.innerText.startsWith(prefix)) || {innerText: ''}).innerText",
        [css, prefix],
    )
    start = page.evaluate("performance.now()")
    act()
    page.wait_for_function(CHANGED, arg=[css, prefix, before], timeout=60_000, polling=10)
    return page.evaluate("performance.now()") - start


def annotator_actions(page, url: str, repeats: int) -> dict[str, list[float]]:
    sign_in(page, url, "ann1", PASSWORD)
    page.get_by_role("link", name="Anchor terms").click()
    page.get_by_role("button", name="Submit this chunk").wait_for()
    settle(page)
    chunk = ('[data-testid="stSelectbox"]', "Chunk")
    progress = ('[data-testid="stProgress"]', "")
    times: dict[str, list[float]] = {"switch_chunk": [], "submit_chunk": []}
    for _ in range(repeats):
        next_chunk = page.get_by_role("button", name=re.compile(r"^Next chunk"))
        times["switch_chunk"].append(timed(page, next_chunk.click, *chunk))
        settle(page)
        submit = page.get_by_role("button", name="Submit this chunk")
        times["submit_chunk"].append(timed(page, submit.click, *progress))
        settle(page)
    return times


def reviewer_actions(page, url: str, repeats: int) -> dict[str, list[float]]:
    sign_in(page, url, "rev", PASSWORD)
    page.get_by_role("link", name="Generic labels").click()
    page.get_by_role("button", name=re.compile(r"^Accept(?! all)")).wait_for()
    settle(page)
    reviewed = ('[data-testid="stMetric"]', "Reviewed")
    times: dict[str, list[float]] = {"accept_label": [], "reject_label": []}
    for _ in range(repeats):
        for action, name in (
            ("accept_label", r"^Accept(?! all)"),
            ("reject_label", r"^Reject(?! all)"),
        ):
            button = page.get_by_role("button", name=re.compile(name))
            times[action].append(timed(page, button.click, *reviewed))
            settle(page)
    return times


def browse(url: str, repeats: int) -> dict[str, list[float]]:
    """Each person's actions in a fresh chromium page, watched like the browser tests' pages."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for actions in (annotator_actions, reviewer_actions):
            page = watched(browser.new_page(viewport={"width": 1280, "height": 1000}))
            times |= actions(page, url, repeats)
            page.close()
        browser.close()
    return times


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default=str(BOOK))
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unlearn-browser-bench-") as scratch:
        os.environ["UNLEARN_HOME"] = scratch
        os.environ["UNLEARN_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        os.environ.pop("UNLEARN_DATABASE_URL", None)
        started = bootstrap.start()
        store, admin = started.store, started.admin
        model = tiny_model(Path(scratch) / "tiny-model", store.settings.models_dir)
        project = big_project(store, admin, Path(args.book), model)
        create_user(store, admin, "ann1", PASSWORD, Role.ANNOTATOR)
        create_user(store, admin, "rev", PASSWORD, Role.REVIEWER)
        port = free_port()
        unlearn = shutil.which("unlearn", path=str(Path(sys.executable).parent))
        url = f"http://127.0.0.1:{port}"
        serve = [unlearn, "app", "--port", str(port)]
        health = f"{url}/_stcore/health"
        with running(serve, health, env=os.environ.copy(), ok=lambda b: b == b"ok"):
            times = browse(url, args.repeats)
        result = {"chunks": len(forget_chunks(store, project.id)), "repeats": args.repeats}
        for action, values in times.items():
            result[f"{action}_p50_ms"] = round(statistics.median(values))
            result[f"{action}_p95_ms"] = round(percentile(values, 95))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
