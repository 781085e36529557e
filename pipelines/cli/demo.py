"""`unlearn demo`: the whole loop on the demo world with a bar per stage and a summary table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from pipelines import models
from pipelines.bootstrap import cli_session
from pipelines.demo import book
from pipelines.demo import run as demo_run
from pipelines.training import unlearn as finetune
from pipelines.training.loop import TrainProgress
from pipelines.types import UnlearnError
from pipelines.whp import labels as labels_stage

TARGETS = {"prob_familiarity_drop": 0.80, "retain_ppl_change": 0.10}


class Bars:
    """One tqdm bar per stage; training stages advance by optimizer step."""

    def __init__(self):
        self.bar: tqdm | None = None

    def stage(self, name: str, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.close()
        index = demo_run.STAGES.index(name) + 1
        self.bar = tqdm(desc=f"[{index}/{len(demo_run.STAGES)}] {name}", unit="step")

    def count(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def train(self, p: TrainProgress) -> None:
        self.count(p.step, p.total)
        self.bar.set_postfix(loss=f"{p.loss:.3f}")

    def note(self, what: str) -> None:
        self.bar.update(1)
        self.bar.set_postfix_str(what)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_demo(args) -> int:
    store, actor = cli_session()
    config = demo_run.DemoConfig.fast() if args.fast else demo_run.DemoConfig()
    config = replace(config, model=args.model)
    # a real book: the rate measured best for the model's size (the demo world's is taught)
    book_lr = (
        finetune.default_lr("whp", models.approx_parameters(args.model)) if args.book else None
    )
    config = demo_run.with_overrides(
        config,
        teach_epochs=args.teach_epochs,
        teach_lr=args.teach_lr,
        unlearn_epochs=args.unlearn_epochs,
        unlearn_lr=args.unlearn_lr if args.unlearn_lr is not None else book_lr,
    )
    # a real book: focused targets, the project default measured there; the demo world: soft
    mode = args.label_mode or (labels_stage.LabelConfig.mode if args.book else None)
    labels = {"alpha": args.alpha, "mode": mode, "anchor_penalty": args.anchor_penalty}
    labels = {k: v for k, v in labels.items() if v is not None}
    config = replace(config, labels=replace(config.labels, **labels))
    # a real book: the retain term measured best there (the demo world's runs had none)
    book_default = finetune.DEFAULT_RETAIN_WEIGHT["whp"] if args.book else None
    retain_weight = args.retain_weight if args.retain_weight is not None else book_default
    if retain_weight is not None:
        config = replace(config, retain_weight=retain_weight)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.book:
        return run_book(args, config, store, actor, out)
    bars = Bars()
    try:
        summary = demo_run.run(
            config,
            out,
            store,
            actor,
            on_stage=bars.stage,
            on_train=bars.train,
            on_note=bars.note,
            on_blocks=bars.count,
        )
    finally:
        bars.close()
    print_summary(summary)
    print(f"Wrote {out / 'report.json'} and {out / 'report.html'}")
    return 0


def run_book(args, config, store, actor, out: Path) -> int:
    if not args.facts:
        raise UnlearnError("--book needs --facts: a JSONL file of fact prompts by group.")
    bars = Bars()
    try:
        summary = book.run(
            config, Path(args.book), Path(args.facts), Path(args.other_text), args.chapters,
            Path(args.retain_text), out, store, actor,
            on_stage=bars.stage, on_train=bars.train, on_blocks=bars.count,
        )  # fmt: skip
    finally:
        bars.close()
    print_book_summary(summary)
    print(f"Wrote {out / 'report.json'}")
    return 0


def print_book_summary(s: dict) -> None:
    print(f"\n{s['book']}, chapters {s['forget_chapters']} forgotten, {s['model']}, "
          f"{s['dictionary_terms']} anchor terms")  # fmt: skip
    print(f"{'':40} {'before':>8} {'after':>8} {'change':>8} {'target':>8}")
    names = {**book.GROUP_NAMES, "perplexity": "perplexity on another text"}
    for key, name in names.items():
        before, after = s["before"][key], s["after"][key]
        change, target = s["change"].get(key), book.TARGETS[key]
        print(f"{name:40} {before:8.4f} {after:8.4f} {change:+8.1%} {target:+8.0%}")
    print(f"{s['wall_seconds'] / 60:.1f} min; stages (s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in s["stages"].items()))  # fmt: skip


MEASURED_ROWS = {
    "verbmem": "VerbMem (ROUGE-L F1)",
    "knowmem_forget": "KnowMem, forget QA",
    "knowmem_retain": "KnowMem, retain QA",
    "privleak": "PrivLeak (vs the untaught base)",
    "quant8_prob": "prob. familiarity at int8",
    "quant4_prob": "prob. familiarity at int4",
}


def print_summary(s: dict) -> None:
    rows = [
        ("completion familiarity (rules)", s["familiarity_before"], s["familiarity_after"]),
        ("probability familiarity", s["prob_familiarity_before"], s["prob_familiarity_after"]),
        ("retain perplexity (held out)", s["retain_ppl_before"], s["retain_ppl_after"]),
    ]
    measured = s.get("measured", {})
    taught, unlearned = measured.get("taught", {}), measured.get("unlearned", {})
    rows += [(name, taught.get(key), unlearned.get(key)) for key, name in MEASURED_ROWS.items()]
    print(f"\n{'':32} {'taught':>10} {'unlearned':>10}")
    for name, before, after in rows:
        if before is None or after is None:
            continue
        print(f"{name:32} {before:10.4f} {after:10.4f}")
    drop, ppl = s["prob_familiarity_drop"], s["retain_ppl_change"]
    want_drop, want_ppl = TARGETS["prob_familiarity_drop"], TARGETS["retain_ppl_change"]
    print(f"\nprobability familiarity drop {drop:.1%} (target ≥ {want_drop:.0%}) · "
          f"retain perplexity {ppl:+.1%} (target ≤ +{want_ppl:.0%}) · "
          f"{s['wall_seconds'] / 60:.1f} min")  # fmt: skip
    back = unlearned.get("quant4_returned")
    if back is not None:
        print(f"int4 weights give back {back:.1%} of the forgotten familiarity (target ≤ 20%)")
    print("stages (s): " + ", ".join(f"{k} {v:.0f}" for k, v in s["stages"].items()))


def add_parsers(sub) -> None:
    demo = sub.add_parser("demo", help="the whole loop on the demo world, with a report")
    demo.add_argument("--out", required=True)
    demo.add_argument("--model", default=demo_run.DEFAULT_MODEL)
    demo.add_argument("--fast", action="store_true", help="one book: a smaller, quicker run")
    for stage in ("teach", "unlearn"):
        demo.add_argument(f"--{stage}-epochs", type=int, help="override the tuned default")
        demo.add_argument(f"--{stage}-lr", type=float, help="override the tuned default")
    demo.add_argument("--alpha", type=float, help="WHP's alpha for the generic labels")
    demo.add_argument("--label-mode", choices=labels_stage.MODES)
    demo.add_argument("--anchor-penalty", type=float, help="0 gives WHP's labels as published")
    demo.add_argument("--book", help="a real book the model knows (plain text, CHAPTER headings)")
    demo.add_argument("--facts", help="JSONL fact prompts: group (forget, kept, general, "
                      "fiction), prompt, answer")  # fmt: skip
    demo.add_argument("--chapters", default="6-7", help="the chapters to forget (e.g. 6-7)")
    demo.add_argument("--other-text", default=str(book.OTHER_TEXT),
                      help="text in another register, for perplexity only")  # fmt: skip
    demo.add_argument("--retain-text", default=str(book.RETAIN_TEXT),
                      help="the retain document (stats reference and retain term)")  # fmt: skip
    demo.add_argument(
        "--retain-weight",
        type=float,
        help="weight of the whp retain term (default: 1 with --book, else 0)",
    )
    demo.set_defaults(func=cmd_demo)
