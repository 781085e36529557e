"""The shared training loop: checkpoints resume to identical weights, LoRA, held-out loss."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.training import loop as training
from pipelines.training.loop import TrainConfig, TrainControl, TrainingStopped
from tests.conftest import DEMO

TEXT = (DEMO / "forget" / "book1.md").read_text()[:4000]


def setup(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    blocks = training.token_blocks(tok, [TEXT], 48)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    return tok, model, training.language_modeling_examples(blocks)


CONFIG = TrainConfig(
    epochs=2, lr=2e-3, batch_size=2, grad_accum=2, schedule="cosine", warmup_ratio=0.2, seed=3
)


def test_a_stopped_run_resumes_from_its_checkpoint_to_the_same_weights(tiny_model_dir, tmp_path):
    tok, model, examples = setup(tiny_model_dir)
    total = training.total_steps(len(examples), CONFIG)
    assert total >= 6
    whole, whole_result = training.train(model, examples, CONFIG, pad_id=tok.eos_token_id)

    seen = []
    stop_at_3 = TrainControl(
        progress=lambda p: seen.append(p.step),
        should_stop=lambda: len(seen) >= 3,
        checkpoint_dir=tmp_path / "ckpt",
    )
    with pytest.raises(TrainingStopped):
        training.train(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir),
            examples,
            CONFIG,
            pad_id=tok.eos_token_id,
            control=stop_at_3,
        )
    assert seen == [1, 2, 3]
    resumed_control = TrainControl(checkpoint_dir=tmp_path / "ckpt")
    resumed, result = training.train(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        examples,
        CONFIG,
        pad_id=tok.eos_token_id,
        control=resumed_control,
    )
    assert result.resumed_from == 3
    assert result.losses == pytest.approx(whole_result.losses, rel=1e-5)
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_lora_trains_only_adapter_weights_and_merges_to_a_loadable_model(tiny_model_dir, tmp_path):
    tok, model, examples = setup(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(epochs=1, lr=5e-3, lora=True, lora_rank=4, merge_lora=False)
    adapted, _ = training.train(model, examples, config, pad_id=tok.eos_token_id)
    trainable = {n for n, p in adapted.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    for name, value in adapted.get_base_model().state_dict().items():
        if "lora_" not in name:
            key = name.replace(".base_layer", "")
            assert torch.equal(value, before[key]), name  # frozen base weights untouched
    merged = adapted.merge_and_unload()
    training.save_model(merged, tok, tmp_path / "merged")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    assert set(reloaded.state_dict()) == set(before)
    changed = [k for k, v in reloaded.state_dict().items() if not torch.equal(v, before[k])]
    assert any("q_proj" in k for k in changed)


def test_held_out_loss_is_reported_at_each_evaluation_step(tiny_model_dir):
    tok, model, examples = setup(tiny_model_dir)
    train_set, held = training.split_held_out(examples, 0.25, seed=0)
    assert held and len(train_set) + len(held) == len(examples)
    config = TrainConfig(epochs=3, lr=3e-3, batch_size=4, eval_every=2)
    reports = []
    _, result = training.train(
        model,
        train_set,
        config,
        pad_id=tok.eos_token_id,
        eval_examples=held,
        control=TrainControl(progress=reports.append),
    )
    total = training.total_steps(len(train_set), config)
    steps = [step for step, _ in result.eval_losses]
    assert steps == sorted({*range(2, total + 1, 2), total})
    assert result.eval_losses[-1][1] < result.eval_losses[0][1]
    assert [r.eval_loss is not None for r in reports].count(True) == len(steps)
    assert all(r.tokens_per_s > 0 and r.eta_s >= 0 for r in reports)
    assert reports[-1].eta_s == 0


def test_gradient_checkpointing_trains_to_the_same_losses(tiny_model_dir):
    tok, model, examples = setup(tiny_model_dir)
    config = TrainConfig(epochs=1, lr=3e-3, batch_size=4, seed=1)
    _, plain = training.train(model, examples, config, pad_id=tok.eos_token_id)
    again = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    checkpointed = TrainConfig(epochs=1, lr=3e-3, batch_size=4, seed=1, gradient_checkpointing=True)
    trained, result = training.train(again, examples, checkpointed, pad_id=tok.eos_token_id)
    assert result.losses == pytest.approx(plain.losses, rel=1e-4)
    assert trained.config.use_cache  # switched back on for generation


def test_bf16_on_the_cpu_keeps_fp32_weights_and_leaves_later_runs_fp32(tiny_model_dir):
    tok, model, examples = setup(tiny_model_dir)
    config = TrainConfig(epochs=1, lr=3e-3, batch_size=4, seed=1)
    _, before = training.train(model, examples, config, pad_id=tok.eos_token_id)
    bf16 = TrainConfig(epochs=1, lr=3e-3, batch_size=4, seed=1, precision="bf16")
    start = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    first = next(start.parameters()).detach().clone()
    trained, mixed = training.train(start, examples, bf16, pad_id=tok.eos_token_id)
    weights = next(trained.parameters())
    assert weights.dtype == torch.float32 and not torch.equal(weights.detach(), first)
    assert mixed.losses != before.losses  # the forward passes really ran in bf16
    assert mixed.losses == pytest.approx(before.losses, rel=0.05)
    again = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    _, after = training.train(again, examples, config, pad_id=tok.eos_token_id)
    assert after.losses == before.losses  # one process can train at both precisions in turn


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    with_bf16, without = tmp_path / "a", tmp_path / "b"
    with_bf16.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    without.write_text("flags\t\t: fpu avx2 avx512f\n")
    assert training.cpu_has_native_bf16(with_bf16)
    assert not training.cpu_has_native_bf16(without)
    assert not training.cpu_has_native_bf16(tmp_path / "missing")
