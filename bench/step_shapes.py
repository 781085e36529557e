"""Benchmark: CPU time per token of one training step by micro-batch shape, loss and precision."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from pipelines import models
from pipelines.config import ModelConfig, Settings
from pipelines.training import loop as training
from pipelines.training.loop import Example, bf16_autocast, collate, cross_entropy_loss
from pipelines.training.objectives import soft_cross_entropy

LOSSES = {"ce": cross_entropy_loss, "soft": soft_cross_entropy}


def random_examples(rows: int, length: int, vocab: int, top_k: int, seed: int) -> list[Example]:
    """Token rows with top-k soft targets at every position (timing only: values are random)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rows):
        ids = rng.integers(0, vocab, length).tolist()
        soft_ids = rng.integers(0, vocab, (length, top_k)).astype(np.int32)
        soft_probs = np.full((length, top_k), 1 / top_k, np.float16)
        out.append(Example(ids, ids, soft_ids, soft_probs))
    return out


def seconds_per_step(model, optimizer, batch, loss_fn, precision: str) -> float:
    started = time.perf_counter()
    with bf16_autocast(precision):
        loss = loss_fn(model, batch)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def measure(model, shape: str, precision: str, repeats: int) -> dict:
    """shape `loss:rows×length`, e.g. soft:4x512; the best of `repeats` steps after one warm-up."""
    loss_name, dims = shape.split(":")
    rows, length = (int(x) for x in dims.split("x"))
    vocab = model.config.vocab_size
    batch = collate(random_examples(rows, length, vocab, 64, seed=rows * length), 0, "cpu")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-7)
    timings = [
        seconds_per_step(model, optimizer, batch, LOSSES[loss_name], precision)
        for _ in range(repeats + 1)
    ][1:]
    best = min(timings)
    return {
        "shape": shape,
        "precision": precision,
        "seconds": round(best, 2),
        "ms_per_token": round(1000 * best / (rows * length), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--shapes", nargs="+", default=["ce:4x256", "soft:4x512", "soft:1x512"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    loaded = models.load(ModelConfig(source=args.model), models_dir=Settings.from_env().models_dir)
    model = loaded.model.train()
    model.config.use_cache = False
    rows = [
        measure(model, shape, precision, args.repeats)
        for shape in args.shapes
        for precision in args.precisions
    ]
    print(json.dumps({"native_bf16": training.cpu_has_native_bf16(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
