"""Model loading: HF directory, GGUF (packaged SmolLM2, slow), clear errors, device choice."""

from __future__ import annotations

import time

import pytest
import torch

from pipelines import models
from pipelines.config import ModelConfig
from pipelines.types import ModelLoadError


def test_loads_a_local_directory_and_runs_a_forward_pass(tiny_model_dir, tmp_path):
    loaded = models.load(ModelConfig(source=str(tiny_model_dir)), models_dir=tmp_path)
    ids = loaded.tokenizer("Skoholm lies in Desdo.", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = loaded.model(ids).logits
    assert logits.shape == (1, ids.shape[1], loaded.model.config.vocab_size)
    assert loaded.device == "cpu" and not loaded.model.training
    assert loaded.tokenizer.pad_token is not None


def test_missing_path_and_non_model_directory_give_clear_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        models.load(ModelConfig(source=str(tmp_path / "nope")), models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="no config.json"):
        models.load(ModelConfig(source=str(tmp_path)), models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="GGUF file not found"):
        models.load(ModelConfig(source=str(tmp_path / "m.gguf")), models_dir=tmp_path)


def test_a_corrupt_gguf_file_is_refused(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="Could not read GGUF"):
        models.load(ModelConfig(source=str(bad)), models_dir=tmp_path / "models")
    cache = tmp_path / "models" / "cache"
    finished = [p for p in cache.glob("*") if not p.name.endswith(".partial")]
    assert finished == []  # nothing that a later load would mistake for a good cache


def test_hub_id_without_network_says_what_to_do(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import time
    with pytest.raises(ModelLoadError, match="packaged name"):
        models.load(ModelConfig(source="someone/not-cached-model"), models_dir=tmp_path)


def test_device_choice():
    assert models.pick_device("cpu") == "cpu"
    assert models.pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_missing_optional_package_names_the_extra(tmp_path, monkeypatch):
    def missing(_models_dir):
        raise ImportError("no gemma")

    monkeypatch.setitem(models._PACKAGED_GGUF, "gemma3-270m", missing)
    with pytest.raises(ModelLoadError, match=r"unlearn-studio\[gemma\]"):
        models.load(ModelConfig(source="gemma3-270m"), models_dir=tmp_path)


@pytest.mark.slow
def test_packaged_smollm2_is_dequantized_once_then_loaded_from_cache(tmp_path):
    first = models.load(ModelConfig(source="smollm2-135m"), models_dir=tmp_path)
    caches = list((tmp_path / "cache").iterdir())
    assert len(caches) == 1 and (caches[0] / "model.safetensors").exists()
    assert not hasattr(first.model.config, "quantization_config")
    started = time.perf_counter()
    second = models.load(ModelConfig(source="smollm2-135m"), models_dir=tmp_path)
    reload_seconds = time.perf_counter() - started
    ids = second.tokenizer("The capital of France is", return_tensors="pt")
    out = second.model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert "Paris" in second.tokenizer.decode(out[0])
    assert reload_seconds < 15  # generous: a dequantize would redo the GGUF conversion


@pytest.mark.slow
def test_demo_forget_corpus_is_10_to_20_thousand_smollm2_tokens(tmp_path):
    from tests.conftest import DEMO

    loaded = models.load(ModelConfig(source="smollm2-135m"), models_dir=tmp_path)
    text = "\n\n".join(p.read_text() for p in sorted((DEMO / "forget").glob("*.md")))
    assert 10_000 <= len(loaded.tokenizer(text).input_ids) <= 20_000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "not found"),
        (lambda d: (d / "random.gguf").write_bytes(b"\x00\x01junk" * 64) and d / "random.gguf",
         "not a GGUF file"),
        (lambda d: (d / "config.json").write_text("{broken") and d, "not valid JSON"),
        (lambda d: (d / "config.json").write_text('{"hidden_size": 8}') and d,
         "names no model_type"),
        (lambda d: (d / "config.json").write_text('{"model_type": "warp_drive"}') and d,
         "'warp_drive' is not a causal language model"),
        (lambda d: "someone/uncached-model", "nor in the local model cache"),
    ],
)  # fmt: skip
def test_a_model_that_could_not_load_is_refused_before_a_project_exists(
    tmp_path, store, researcher, make, message
):
    from pipelines.store.projects import create_project, list_projects

    source = str(make(tmp_path))
    with pytest.raises(ModelLoadError, match=message):
        create_project(store, researcher, "Doomed", source, check_model=models.check_source)
    assert list_projects(store) == []


def test_a_loadable_directory_and_a_packaged_name_pass_the_check(tiny_model_dir):
    models.check_source(str(tiny_model_dir))
    models.check_source("smollm2-135m")
