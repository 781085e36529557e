"""The one causal-LM training loop (on accelerate) shared by teach, reinforce and unlearn."""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from pipelines.config import check_choices, setting
from pipelines.tokens import leading_ids

IGNORE = -100
SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(2, "Passes over the training examples.")
    lr: float = setting(3e-5, "Peak learning rate (AdamW).")
    batch_size: int = setting(
        4, "Examples per process and micro-step; a step sees batch × processes × accumulation."
    )
    grad_accum: int = setting(1, "Micro-batches accumulated into one optimizer step.")
    schedule: str = setting("constant", "Learning-rate schedule after warmup.", SCHEDULES)
    warmup_ratio: float = setting(0.0, "Share of the steps spent warming the learning rate up.")
    weight_decay: float = setting(0.0, "AdamW weight decay.")
    max_grad_norm: float = setting(0.0, "Clip gradients to this norm; 0: no clipping.")
    precision: str = setting(
        "auto", "auto: bf16 on a GPU that supports it, fp32 elsewhere.", PRECISIONS
    )
    gradient_checkpointing: bool = setting(False, "Recompute activations: less memory, slower.")
    lora: bool = setting(False, "Train LoRA adapters instead of every weight.")
    lora_rank: int = setting(16, "Rank of the LoRA adapters.")
    merge_lora: bool = setting(True, "Merge the adapters into the model; off: a peft folder.")
    eval_fraction: float = setting(0.0, "Share of examples held out for the eval loss.")
    eval_every: int = setting(0, "Optimizer steps between eval losses; 0: at the end only.")
    checkpoint_every: int = setting(0, "Optimizer steps between checkpoints; 0: none.")
    seed: int = setting(0, "Seed for shuffling and the held-out split.")

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]  # target for each position's *next* token is labels[i+1] (HF convention)
    soft_ids: object = None  # optional [len, k] token ids: soft target for the token at i+1
    soft_probs: object = None  # optional [len, k] probabilities matching soft_ids
    ref_logp: float | None = None  # optional reference model's sequence log-prob (NPO)


@dataclass
class Batch:
    examples: Sequence[Example]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class TrainProgress:
    step: int
    total: int
    loss: float
    tokens_per_s: float
    eta_s: float
    eval_loss: float | None = None
    probes: dict | None = None  # the control's probe, where it ran at this step


@dataclass
class TrainControl:
    """How a caller watches and steers a run: progress, a stop request, where checkpoints go."""

    progress: Callable[[TrainProgress], None] | None = None
    should_stop: Callable[[], bool] = lambda: False
    checkpoint_dir: Path | None = None  # resumes from the newest checkpoint found here
    # Measured on the model before training and every `probe_every` steps (and at the end), on
    # the main process: e.g. probability familiarity, for a curve against training steps.
    probe: Callable[[object], dict] | None = None
    probe_every: int = 0
    # Given the probe points so far, which to keep (pipelines/training/selection.py): the run
    # keeps a copy of the weights at the chosen point, ends early when told to, finishes on it.
    choose: Callable[[list[tuple[int, dict]]], object] | None = None


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    eval_losses: list[tuple[int, float]] = field(default_factory=list)
    tokens: int = 0
    resumed_from: int = 0
    probes: list[tuple[int, dict]] = field(default_factory=list)
    kept: object = None  # the control's choice of probe point, where it chose one
    probe_seconds: float = 0.0  # time spent probing, part of the training's time


class TrainingStopped(Exception):
    """Raised after a stop request, once the checkpoint (if any) is written."""


LossFn = Callable[[object, Batch], torch.Tensor]


def cross_entropy_loss(model, batch: Batch) -> torch.Tensor:
    return model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels
    ).loss


def token_blocks(tokenizer, texts: Sequence[str], block_tokens: int) -> list[list[int]]:
    """Each document tokenized once and cut into windows of block_tokens, each window led by the
    model's BOS where it has one (1-token tails dropped)."""
    lead = leading_ids(tokenizer)
    step = block_tokens - len(lead)
    blocks = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        blocks += [lead + ids[i : i + step] for i in range(0, len(ids), step)]
    return [b for b in blocks if len(b) - len(lead) > 1]


def language_modeling_examples(blocks: Sequence[list[int]]) -> list[Example]:
    return [Example(b, list(b)) for b in blocks]


def pad_id_of(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def split_held_out(examples: Sequence[Example], fraction: float, seed: int):
    """(train, held out): a seeded share of the examples kept out of training for the eval loss."""
    n_held = int(len(examples) * fraction)
    if n_held == 0:
        return list(examples), []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_held])
    return [e for i, e in enumerate(examples) if i not in held], [examples[i] for i in sorted(held)]


def pad_batch(sequences: Sequence[list[int]], pad_id: int, device):
    """Right-padded ids and the attention mask that marks the real tokens."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def collate(batch: Sequence[Example], pad_id: int, device) -> Batch:
    ids, mask = pad_batch([e.input_ids for e in batch], pad_id, device)
    labels, _ = pad_batch([e.labels for e in batch], IGNORE, device)
    return Batch(batch, ids, mask, labels)


def _with_lora(model, rank: int):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX), where it beats fp32."""
    try:
        flags = cpuinfo.read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def fastest_precision() -> str:
    """bf16 autocast (fp32 master weights) where the hardware runs it natively, else fp32.

    On a 2-core AVX512-BF16 CPU a SmolLM2-135M training step takes 0.5-0.6 of the fp32 time
    (bench/step_shapes.py, docs/benchmarks.md).
    """
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def _mixed_precision(precision: str) -> str:
    """accelerate's setting; bf16 on the CPU is our own autocast (see _cpu_autocast)."""
    cuda = torch.cuda.is_available()
    if precision == "auto":
        return "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    if precision == "bf16" and not cuda:
        return "no"
    return {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]


def bf16_autocast(precision: str, device: str = "cpu"):
    """A context running forward passes in bf16 when precision is "bf16"; else it does nothing."""
    if precision != "bf16":
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def _cpu_autocast(precision: str):
    """bf16 forward passes on the CPU, fp32 master weights and optimizer.

    Not accelerate's mixed precision: that is fixed once per process, and one process (the demo,
    the test suite) trains at several precisions in turn.
    """
    if precision == "bf16" and not torch.cuda.is_available():
        return lambda: bf16_autocast("bf16")
    return nullcontext


def _accelerator(config: TrainConfig):
    from accelerate import Accelerator

    return Accelerator(
        mixed_precision=_mixed_precision(config.precision), cpu=not torch.cuda.is_available()
    )


def _prepare_model(model, config: TrainConfig):
    model.config.use_cache = False  # no KV cache while training: it only costs time and memory
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    if config.lora:
        model = _with_lora(model, config.lora_rank)
        if config.gradient_checkpointing:
            model.enable_input_require_grads()
    return model


def epoch_batches(n: int, config: TrainConfig, epoch: int, world: int) -> list[list[int]]:
    """Seeded shuffle per epoch cut into global micro-batches (wrapped: every process gets one)."""
    order = list(range(n))
    random.Random(config.seed + epoch).shuffle(order)
    per_step = config.batch_size * world
    batches = [order[i : i + per_step] for i in range(0, n, per_step)]
    if world > 1:
        batches = [(b + order * per_step)[:per_step] for b in batches]
    return batches


def _step_groups(n: int, config: TrainConfig, epoch: int, world: int) -> list[list[list[int]]]:
    micro = epoch_batches(n, config, epoch, world)
    return [micro[i : i + config.grad_accum] for i in range(0, len(micro), config.grad_accum)]


def total_steps(n: int, config: TrainConfig, world: int = 1) -> int:
    return sum(len(_step_groups(n, config, e, world)) for e in range(config.epochs))


def _schedule(optimizer, config: TrainConfig, total: int):
    from transformers import get_scheduler

    name = "constant_with_warmup" if config.schedule == "constant" else config.schedule
    warmup = int(config.warmup_ratio * total)
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=max(total, 1))


def _latest_checkpoint(folder: Path | None) -> Path | None:
    if folder is None or not (folder / "latest").exists():
        return None
    return folder / (folder / "latest").read_text().strip()


def _save_checkpoint(accelerator, folder: Path, step: int, result: TrainResult) -> None:
    """Model, optimizer, schedule and RNG states, then a pointer: a half-written one is ignored."""
    target = folder / f"step-{step:07d}"
    accelerator.save_state(str(target))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state = {"step": step, "losses": result.losses, "eval_losses": result.eval_losses}
        state["probes"] = result.probes
        (target / "progress.json").write_text(json.dumps(state))
        (folder / "latest.tmp").write_text(target.name)
        (folder / "latest.tmp").replace(folder / "latest")
        for old in folder.glob("step-*"):
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _resume(accelerator, folder: Path | None, result: TrainResult) -> int:
    latest = _latest_checkpoint(folder)
    if latest is None:
        return 0
    accelerator.load_state(str(latest))
    state = json.loads((latest / "progress.json").read_text())
    result.losses, result.eval_losses = state["losses"], [tuple(x) for x in state["eval_losses"]]
    result.probes = [tuple(x) for x in state.get("probes", [])]
    result.resumed_from = state["step"]
    return state["step"]


def evaluate_loss(
    model, examples: Sequence[Example], loss_fn: LossFn, *, pad_id, batch_size, device
):
    """Mean loss over held-out examples, without gradients."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        losses = [
            float(loss_fn(model, collate(examples[i : i + batch_size], pad_id, device)))
            for i in range(0, len(examples), batch_size)
        ]
    model.train(was_training)
    return sum(losses) / len(losses)


class _Loop:
    """The state of one run: everything the step function and the bookkeeping share."""

    def __init__(self, accelerator, model, optimizer, schedule, config, pad_id, loss_fn):
        self.accelerator, self.model, self.optimizer = accelerator, model, optimizer
        self.schedule, self.config, self.pad_id, self.loss_fn = schedule, config, pad_id, loss_fn
        self.autocast = _cpu_autocast(config.precision)
        self.started, self.tokens_at_start = time.monotonic(), 0

    def step(self, examples: Sequence[Example], group: list[list[int]]) -> tuple[float, int]:
        """One optimizer step over a group of micro-batches; returns (mean loss, tokens seen)."""
        acc, rank, per = self.accelerator, self.accelerator.process_index, self.config.batch_size
        loss_sum, tokens = torch.zeros((), device=acc.device), 0
        for i, micro in enumerate(group):
            share = [examples[j] for j in micro[rank * per : (rank + 1) * per]]
            batch = collate(share, self.pad_id, acc.device)
            syncing = i == len(group) - 1
            with acc.no_sync(self.model) if not syncing else nullcontext():
                with self.autocast():
                    loss = self.loss_fn(self.model, batch) / len(group)
                acc.backward(loss)
            loss_sum += loss.detach()
            tokens += int(batch.attention_mask.sum())
        if self.config.max_grad_norm > 0:
            acc.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        mean = acc.reduce(loss_sum, reduction="mean")
        all_tokens = acc.reduce(torch.tensor(tokens, device=acc.device), reduction="sum")
        return float(mean), int(all_tokens)

    def wants_stop(self, control: TrainControl) -> bool:
        flag = torch.tensor(int(bool(control.should_stop())), device=self.accelerator.device)
        return bool(self.accelerator.reduce(flag, reduction="max"))


def train(
    model,
    examples: Sequence[Example],
    config: TrainConfig,
    *,
    pad_id: int,
    loss_fn: LossFn = cross_entropy_loss,
    eval_examples: Sequence[Example] = (),
    eval_loss_fn: LossFn | None = None,
    control: TrainControl | None = None,
):
    """Fine-tune (full or LoRA) with AdamW; returns the trained (merged) model and a TrainResult.

    Runs the same on one CPU, one GPU, or several processes under `accelerate launch`. With a
    checkpoint folder in `control`, it resumes from the newest checkpoint there, skipping the
    steps already done, so a resumed run ends on the same weights as an uninterrupted one.
    """
    from accelerate.utils import set_seed

    control = control or TrainControl()
    accelerator = _accelerator(config)
    set_seed(config.seed)
    model = _prepare_model(model, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    world = accelerator.num_processes
    total = total_steps(len(examples), config, world)
    schedule = _schedule(optimizer, config, total)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(schedule)
    loop = _Loop(accelerator, model, optimizer, schedule, config, pad_id, loss_fn)
    result = TrainResult()
    done = _resume(accelerator, control.checkpoint_dir, result)
    kept: dict = {}  # the chosen point's weights, until a later point is chosen
    if done == 0:
        _maybe_probe(loop, control, 0, total, result)
    step = 0
    for epoch in range(config.epochs):
        for group in _step_groups(len(examples), config, epoch, world):
            step += 1
            if step <= done:
                continue  # finished before the checkpoint we resumed from
            loss, tokens = loop.step(examples, group)
            result.losses.append(loss)
            result.tokens += tokens
            eval_loss = _maybe_eval(loop, step, total, eval_examples, eval_loss_fn or loss_fn)
            if eval_loss is not None:
                result.eval_losses.append((step, eval_loss))
            probes = _maybe_probe(loop, control, step, total, result)
            _report(control, loop, step, total, done, result, eval_loss, probes)
            if _checkpoint_due(config, control, step, total):
                _save_checkpoint(accelerator, control.checkpoint_dir, step, result)
            if control.choose is not None and _chosen_stop(loop, control, result, kept, probes):
                break
            if step < total and loop.wants_stop(control):
                if control.checkpoint_dir is not None:
                    _save_checkpoint(accelerator, control.checkpoint_dir, step, result)
                raise TrainingStopped(f"stopped at step {step} of {total}")
        else:
            continue
        break  # the chosen point met its target: no more epochs
    if kept:
        accelerator.unwrap_model(model).load_state_dict(kept["weights"])
    return _finish(accelerator, model, config), result


def _chosen_stop(loop: _Loop, control, result, kept: dict, probes) -> bool:
    """After a probe (main process), keep the chosen point; every process learns whether
    training ends here, so that none waits on the others."""
    stop = probes is not None and _keep_chosen(loop, control, result, kept)
    flag = torch.tensor(int(stop), device=loop.accelerator.device)
    return bool(loop.accelerator.reduce(flag, reduction="max"))


def _keep_chosen(loop: _Loop, control: TrainControl, result: TrainResult, kept: dict) -> bool:
    """Ask the control which probe point to keep; copy the weights when it is the newest.
    Returns whether training should end here."""
    choice = control.choose(result.probes)
    result.kept = choice
    if choice.index == len(result.probes) - 1:
        state = loop.accelerator.unwrap_model(loop.model).state_dict()
        kept["weights"] = {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
    return bool(choice.stop)


def _maybe_eval(loop: _Loop, step, total, eval_examples, eval_loss_fn) -> float | None:
    every = loop.config.eval_every
    if not eval_examples or not (step == total or (every and step % every == 0)):
        return None
    model = loop.model
    return evaluate_loss(
        model,
        eval_examples,
        eval_loss_fn,
        pad_id=loop.pad_id,
        batch_size=loop.config.batch_size,
        device=loop.accelerator.device,
    )


def _maybe_probe(loop: _Loop, control: TrainControl, step, total, result) -> dict | None:
    every = control.probe_every
    due = step in (0, total) or (every and step % every == 0)
    if control.probe is None or not due or not loop.accelerator.is_main_process:
        return None
    started = time.perf_counter()
    model = loop.accelerator.unwrap_model(loop.model)
    model.eval()
    with torch.no_grad():
        found = control.probe(model)
    model.train()
    result.probes.append((step, found))
    result.probe_seconds += time.perf_counter() - started
    return found


def _checkpoint_due(config: TrainConfig, control: TrainControl, step: int, total: int) -> bool:
    every = config.checkpoint_every
    return control.checkpoint_dir is not None and every > 0 and step % every == 0 and step < total


def _report(control: TrainControl, loop: _Loop, step, total, done, result, eval_loss, probes):
    if control.progress is None or not loop.accelerator.is_main_process:
        return
    elapsed = max(time.monotonic() - loop.started, 1e-9)
    speed = result.tokens / elapsed
    eta = elapsed / max(step - done, 1) * (total - step)
    progress = TrainProgress(step, total, result.losses[-1], speed, eta, eval_loss, probes)
    control.progress(progress)


def _finish(accelerator, model, config: TrainConfig):
    model = accelerator.unwrap_model(model)
    model.eval()
    model.config.use_cache = True  # for generation
    if config.lora and config.merge_lora:
        model = model.merge_and_unload()
    return model


def process_state():
    """accelerate's view of this process (set up once; on CPU, several processes use gloo)."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def is_main_process() -> bool:
    """False in all but one process under `accelerate launch`: only that one writes results."""
    return process_state().is_main_process


def save_model(model, tokenizer, out_dir: Path, card: str | None = None, **record) -> Path:
    """Save a loadable model folder atomically, with a JSON record of how it was made."""
    if not is_main_process():
        return out_dir
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "unlearn_training.json").write_text(json.dumps(record, indent=1, default=str))
    if card:
        (partial / "README.md").write_text(card)
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    return out_dir
