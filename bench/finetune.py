"""Benchmark: a training epoch in our loop against a transformers Trainer: full, LoRA, bf16."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from pipelines import models
from pipelines.bootstrap import DEMO_DIR
from pipelines.config import ModelConfig, Settings
from pipelines.training import loop as training
from pipelines.training.loop import TrainConfig


def demo_examples(tokenizer, tokens: int, block: int) -> list[training.Example]:
    texts = [p.read_text() for p in sorted((DEMO_DIR / "forget").glob("*.md"))]
    blocks = training.token_blocks(tokenizer, texts, block)
    kept = blocks[: max(1, tokens // block)]
    return training.language_modeling_examples(kept)


def import_libraries() -> None:
    """Imports are a once-per-process cost: both engines pay them before their timers start."""
    import accelerate  # noqa: F401
    import peft  # noqa: F401
    import transformers.optimization  # noqa: F401
    from transformers import Trainer  # noqa: F401


def run_ours(model, examples, config: TrainConfig, pad_id: int) -> float:
    import_libraries()
    started = time.perf_counter()
    training.train(model, examples, config, pad_id=pad_id)
    return time.perf_counter() - started


def run_trainer(model, examples, config: TrainConfig, pad_id: int, out: str) -> float:
    """The same epoch through transformers' Trainer: same batches, AdamW, constant lr."""
    from transformers import Trainer, TrainingArguments

    import_libraries()
    started = time.perf_counter()  # like ours: adapter setup and optimizer creation included
    if config.lora:
        model = training._with_lora(model, config.lora_rank)
    data = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]

    def collate(rows):
        ids, mask = training.pad_batch([r["input_ids"] for r in rows], pad_id, "cpu")
        labels, _ = training.pad_batch([r["labels"] for r in rows], training.IGNORE, "cpu")
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    arguments = TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=config.batch_size,
        num_train_epochs=config.epochs,
        learning_rate=config.lr,
        lr_scheduler_type="constant",
        optim="adamw_torch",
        weight_decay=0.0,
        max_grad_norm=0.0,
        save_strategy="no",
        report_to=[],
        logging_strategy="no",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        seed=config.seed,
        bf16=config.precision == "bf16",
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=data, data_collator=collate)
    trainer.train()
    if config.lora:
        model.merge_and_unload()  # ours returns a merged model: the same work on both sides
    return time.perf_counter() - started


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(args) -> dict:
    """One engine × mode in this process, so that its peak memory is its own."""
    loaded = models.load(ModelConfig(source=args.model), models_dir=Settings.from_env().models_dir)
    examples = demo_examples(loaded.tokenizer, args.tokens, args.block)
    precision = "bf16" if args.mode == "bf16" else "fp32"  # bf16: a full fine-tune under autocast
    config = TrainConfig(
        epochs=1, lr=args.lr, batch_size=args.batch, lora=args.mode == "lora", precision=precision
    )
    pad = training.pad_id_of(loaded.tokenizer)
    if args.engine == "ours":
        seconds = run_ours(loaded.model, examples, config, pad)
    else:
        seconds = run_trainer(loaded.model, examples, config, pad, args.scratch)
    tokens = sum(len(e.input_ids) for e in examples)
    return {"tokens": tokens, "seconds": round(seconds, 2), "peak_mb": round(peak_memory_mb())}


def child(args, engine: str, mode: str) -> dict:
    command = [sys.executable, __file__, "--one", engine, mode, *sys.argv[1:]]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tokens", type=int, default=4096, help="slice of the demo books")
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--modes", nargs="+", default=["full", "lora"], help="full, lora, bf16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scratch", default="/tmp/unlearn-bench-trainer")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.engine, args.mode = args.one
        print(json.dumps(one(args)))
        return
    result = {"model": args.model, "device": "cuda" if torch.cuda.is_available() else "cpu"}
    for mode in args.modes:
        # Alternate the engines, then take each one's median: the machine is noisy.
        pairs = [
            (child(args, "trainer", mode), child(args, "ours", mode)) for _ in range(args.repeats)
        ]
        trainer = median_run([t for t, _ in pairs])
        ours = median_run([o for _, o in pairs])
        result[mode] = {
            "tokens": ours["tokens"],
            "tok_s": round(ours["tokens"] / ours["seconds"], 1),
            "trainer_tok_s": round(trainer["tokens"] / trainer["seconds"], 1),
            "ratio": round(trainer["seconds"] / ours["seconds"], 3),
            "peak_mb": ours["peak_mb"],
            "trainer_peak_mb": trainer["peak_mb"],
            "ratios_per_repeat": [round(t["seconds"] / o["seconds"], 3) for t, o in pairs],
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
