"""Benchmark: first GGUF load (dequantize + cache) against later loads from the cache."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pipelines import models
from pipelines.config import ModelConfig


def timed_load(source: str, models_dir: Path) -> float:
    started = time.perf_counter()
    models.load(ModelConfig(source=source), models_dir=models_dir)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cold = timed_load(args.model, Path(tmp))
        warm = [timed_load(args.model, Path(tmp)) for _ in range(args.repeats)]
    best = min(warm)
    print(
        json.dumps(
            {
                "model": args.model,
                "first_load_s": round(cold, 2),
                "cached_load_s": round(best, 2),
                "speedup": round(cold / best, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
