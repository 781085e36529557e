"""Benchmark: forgetting and retention per label mode and per baseline method on the demo world."""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from tqdm import tqdm
from transformers import AutoModelForCausalLM

from pipelines import models
from pipelines.bootstrap import DEMO_DIR
from pipelines.config import ModelConfig, Settings
from pipelines.evaluation.familiarity import perplexity, probability_familiarity
from pipelines.training import unlearn as finetune
from pipelines.training.loop import (
    TrainConfig,
    TrainControl,
    language_modeling_examples,
    save_model,
    token_blocks,
    train,
)
from pipelines.whp import examples as label_examples
from pipelines.whp import labels as gl


def bar_progress(desc: str):
    bar = tqdm(desc=desc, unit="step")

    def progress(step, total):
        bar.total = total
        bar.update(step - bar.n)

    return progress


def bar_control(desc: str) -> TrainControl:
    advance = bar_progress(desc)
    return TrainControl(progress=lambda p: advance(p.step, p.total))


def cached_training(out: Path, base, tok, texts, config: TrainConfig, block_tokens: int, name: str):
    """Train a copy of base on texts as plain LM, or reload it from out/name when present."""
    folder = out / name
    if (folder / "config.json").exists():
        return AutoModelForCausalLM.from_pretrained(folder).eval()
    examples = language_modeling_examples(token_blocks(tok, texts, block_tokens))
    trained, _ = train(
        copy.deepcopy(base), examples, config, pad_id=tok.pad_token_id, control=bar_control(name)
    )
    save_model(trained, tok, folder, stage=name, config=config.__dict__)
    return trained


def measure(model, tok, prompts, retain) -> dict:
    return {
        "prob_familiarity": round(probability_familiarity(model, tok, prompts), 4),
        "retain_ppl": round(perplexity(model, tok, retain), 2),
    }


def compared(name: str, model, tok, before: dict, prompts, retain) -> dict:
    """A model's figures with their change against the taught baseline B."""
    after = measure(model, tok, prompts, retain)
    return {
        "model": name,
        **after,
        "familiarity_drop": round(1 - after["prob_familiarity"] / before["prob_familiarity"], 3),
        "ppl_change": round(after["retain_ppl"] / before["retain_ppl"] - 1, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--out", default=".unlearn/bench-efficacy")
    parser.add_argument("--books", type=int, default=3, help="how many demo books to use")
    parser.add_argument("--teach-epochs", type=int, default=3)
    parser.add_argument("--teach-lr", type=float, default=1e-4)
    parser.add_argument("--unlearn-lr", type=float, default=3e-5)
    parser.add_argument("--modes", nargs="*", default=["paper", "implicated", "soft"])
    parser.add_argument("--retain-weights", type=float, nargs="+", default=[0.0])
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["grad_ascent", "grad_diff", "npo", "simnpo", "undial"],
        help="comparison objectives on the forget text itself (lr --baseline-lr)",
    )
    parser.add_argument("--baseline-lr", type=float, default=1e-5)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = models.load(ModelConfig(source=args.model), models_dir=Settings.from_env().models_dir)
    tok = loaded.tokenizer
    forget = [p.read_text() for p in sorted((DEMO_DIR / "forget").glob("*.md"))][: args.books]
    retain = [(DEMO_DIR / "retain" / "village-tales.md").read_text()]
    prompts = [json.loads(line) for line in (DEMO_DIR / "prompts.jsonl").read_text().splitlines()]
    dictionary = json.loads((DEMO_DIR / "reference_dictionary.json").read_text())
    rows, started = [], time.perf_counter()
    rows.append({"model": "untaught base", **measure(loaded.model, tok, prompts, retain)})
    teach = TrainConfig(epochs=args.teach_epochs, lr=args.teach_lr)
    taught = cached_training(out, loaded.model, tok, forget, teach, 256, "taught")
    before = measure(taught, tok, prompts, retain)
    rows.append({"model": "taught (baseline B)", **before})
    reinforced = cached_training(
        out, taught, tok, forget, TrainConfig(epochs=1, lr=3e-5), 256, "reinforced"
    )
    rows.append({"model": "reinforced (R)", **measure(reinforced, tok, prompts, retain)})
    pair = gl.Models(taught, reinforced, tok)
    for mode in args.modes:
        label_dir = out / f"labels-{mode}"
        summary = gl.run(
            gl.LabelConfig(mode=mode, soft_top_k=64),
            forget,
            dictionary,
            models=pair,
            out_dir=label_dir,
            progress=bar_progress(f"labels {mode}"),
        )
        examples = label_examples.examples_from_label_set(label_dir)
        for weight in args.retain_weights:
            config = finetune.UnlearnConfig(
                retain_weight=weight, train=TrainConfig(epochs=1, lr=args.unlearn_lr)
            )
            unlearned, _ = finetune.run(
                config,
                examples,
                model=copy.deepcopy(taught),
                tokenizer=tok,
                out_dir=out / f"unlearned-{mode}-{weight}",
                baseline=taught,
                retain_texts=retain,
                control=bar_control(f"unlearn {mode} retain={weight}"),
            )
            name = f"WHP {mode}" + (f" + retain KL {weight}" if weight else "")
            row = compared(name, unlearned, tok, before, prompts, retain)
            rows.append(
                row | {"changed_labels": round(summary["changed"] / summary["labelled"], 3)}
            )
    for method in args.methods:
        config = finetune.UnlearnConfig(
            method=method, retain_weight=1.0, train=TrainConfig(epochs=1, lr=args.baseline_lr)
        )
        unlearned, _ = finetune.run(
            config,
            finetune.forget_examples(tok, forget, config.block_tokens),
            model=copy.deepcopy(taught),
            tokenizer=tok,
            out_dir=out / f"unlearned-{method}",
            baseline=taught,  # UNDIAL's teacher; the others do not read it
            retain_texts=retain,
            control=bar_control(f"unlearn {method}"),
        )
        rows.append(
            compared(f"{method} (lr {args.baseline_lr:g})", unlearned, tok, before, prompts, retain)
        )
    result = {
        "args": vars(args),
        "wall_seconds": round(time.perf_counter() - started),
        "rows": rows,
    }
    (out / "efficacy.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
