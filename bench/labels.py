"""Benchmark: label generation against its floor, the plain forward passes its mode needs."""

from __future__ import annotations

import argparse
import copy
import json
import resource
import tempfile
import time
from pathlib import Path

import torch

from bench.per_size import each_size
from pipelines import models
from pipelines.bootstrap import DEMO_DIR
from pipelines.config import ModelConfig, Settings
from pipelines.training.loop import pad_batch, token_blocks
from pipelines.whp import labels as gl


def corpus(tokenizer, n_tokens: int) -> list[str]:
    """Demo books, copies varied by chapter number, until about n_tokens tokens."""
    books = [p.read_text() for p in sorted((DEMO_DIR / "forget").glob("*.md"))]
    per_copy = sum(len(tokenizer(b)["input_ids"]) for b in books)
    copies = -(-n_tokens // per_copy)
    texts = [b.replace("Chapter", f"Part {i} chapter") for i in range(copies) for b in books]
    return texts


def floor_passes(mode: str) -> int:
    """Forward passes per block a mode cannot avoid: reinforced on the original and baseline on
    the translation; every mode but paper also reads the baseline on the original."""
    return 2 if mode == "paper" else 3


@torch.no_grad()
def forwards(model, tokenizer, texts, block_tokens: int, batch_size: int, passes: int) -> float:
    blocks = token_blocks(tokenizer, texts, block_tokens)
    started = time.perf_counter()
    for _ in range(passes):
        for i in range(0, len(blocks), batch_size):
            batch = blocks[i : i + batch_size]
            ids, mask = pad_batch(batch, tokenizer.pad_token_id, "cpu")
            model(input_ids=ids, attention_mask=mask).logits.float()
    return time.perf_counter() - started


def measure(n_tokens: int, args) -> dict:
    loaded = models.load(ModelConfig(source=args.model), models_dir=Settings.from_env().models_dir)
    tok = loaded.tokenizer
    texts = corpus(tok, n_tokens)
    dictionary = json.loads((DEMO_DIR / "reference_dictionary.json").read_text())
    pair = gl.Models(loaded.model, copy.deepcopy(loaded.model), tok)
    config = gl.LabelConfig(
        block_tokens=args.block_tokens, batch_size=args.batch_size, mode=args.mode
    )
    tokens = sum(len(b) for b in token_blocks(tok, texts, args.block_tokens))
    passes = floor_passes(args.mode)
    label_times, floor_times = [], []
    for _ in range(args.repeats):  # alternated; the fastest of each, as noise only slows
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            gl.run(config, texts, dictionary, models=pair, out_dir=Path(out))
            label_times.append(time.perf_counter() - started)
        floor_times.append(
            forwards(loaded.model, tok, texts, args.block_tokens, args.batch_size, passes)
        )
    label_s, floor_s = min(label_times), min(floor_times)
    return {
        "model": args.model,
        "mode": args.mode,
        "tokens": tokens,
        "label_tok_s": round(tokens / label_s, 1),
        "forward_tok_s": round(passes * tokens / floor_s, 1),
        "floor_passes": passes,
        "ratio_vs_floor": round(label_s / floor_s, 3),
        "label_s": round(label_s, 1),
        "repeats": args.repeats,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tokens", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--block-tokens", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--mode", default="paper", choices=gl.MODES)
    parser.add_argument("--repeats", type=int, default=1, help="label runs and floors, alternated")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    flags = ["--model", args.model, "--block-tokens", str(args.block_tokens), "--batch-size",
             str(args.batch_size), "--mode", args.mode, "--repeats", str(args.repeats)]  # fmt: skip
    each_size("bench.labels", "--tokens", args.tokens, flags,
              (lambda n: measure(n, args)) if args.single else None)  # fmt: skip


if __name__ == "__main__":
    main()
