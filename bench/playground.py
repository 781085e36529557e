"""Benchmark: the Playground's first answer for two prompts on two 135M models, from a fresh
server process (nothing loaded), then the same press again with the models loaded."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pipelines import models
from pipelines.config import ModelConfig
from pipelines.evaluation import playground

PROMPTS = [
    "In Moby-Dick, the captain of the Pequod is Captain",
    "Alice followed the White Rabbit down the",
]


def second_model(source: str, models_dir: Path, out: Path) -> str:
    """A saved copy of the model in a plain directory, as an unlearned run leaves one."""
    loaded = models.load(ModelConfig(source=source), models_dir=models_dir)
    loaded.model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    return str(out)


def press(cache: playground.ModelCache, sources: dict[str, str], expected: str) -> float:
    """One press of the button: seconds until every model's answers are in."""
    started = time.perf_counter()
    decoding = playground.Decoding(sources, PROMPTS, expected).start(cache)
    while not decoding.finished:
        time.sleep(0.05)
    if decoding.error:
        raise SystemExit(decoding.error)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models_dir = Path(tmp) / "models"
        models.load(ModelConfig(source=args.model), models_dir=models_dir)  # the GGUF cache
        copy = second_model(args.model, models_dir, Path(tmp) / "run")
        sources = {"base": args.model, "unlearned": copy}
        cache = playground.ModelCache(models_dir)
        first = press(cache, sources, "Ahab")
        again = press(cache, sources, "Ahab")
    timings = {"first_press_s": round(first, 2), "next_press_s": round(again, 2)}
    print(json.dumps({"model": args.model, "prompts": len(PROMPTS), **timings}))


if __name__ == "__main__":
    main()
