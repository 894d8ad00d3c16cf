"""Loading XVERSE checkpoints (official or saved quantized copies): resolve a path or hub id from
the local cache only, check the shards, pick quantization / devices / KV-cache width, turn every
failure into a `ModelLoadError` that tells the writer what to do, and save quantized copies.

The same code path loads the tiny demo checkpoint and the real ones. Remote code is never executed:
the `xverse` model type is registered natively (importing app.engine.xverse) and
`trust_remote_code=False` is always passed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, PreTrainedConfig

import app.engine.xverse  # noqa: F401  (registers model_type "xverse" with the Auto classes)
from app.engine.memory_estimate import GIB, estimate_memory, fit_advice
from app.engine.types import EngineError
from messages import CodedError

QUANTIZATIONS = ("auto", "nf4", "int8", "bf16", "fp16", "fp32")
UNQUANTIZED_MODULES = ["router", "lm_head"]  # kept in 16/32-bit under nf4 and int8
WEIGHT_INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
SINGLE_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
CPU_OFFLOAD_BUDGET = "1024GiB"  # max_memory for the CPU when the writer gives only a GPU budget


class ModelLoadError(EngineError):
    """The model could not be loaded; the message (a code, see `messages`) says why and what to do."""


class ModelNotFoundError(ModelLoadError):
    """No such directory, and the id is not in the local Hugging Face cache."""


class MissingShardsError(ModelLoadError):
    """The checkpoint's weight index names files that are not there (or there are no weights)."""


class InsufficientMemoryError(ModelLoadError):
    """The model (plus its KV cache) does not fit the memory available; says what would fit."""


class QuantizationUnavailableError(ModelLoadError):
    """bitsandbytes cannot run here (not installed, or a CUDA-only build on a machine without CUDA)."""


def load_model(
    path_or_id: str | Path,
    *,
    quantization: str = "auto",
    device_map: str | dict[str, Any] | None = None,
    max_gpu_memory_gib: float | None = None,
    embed_on_cpu: bool = False,
    kv_cache_bits: int = 16,
    context_tokens: int | None = None,
    local_files_only: bool = True,
) -> tuple[Any, Any]:
    """Load (model, tokenizer) for inference.

    quantization: "auto" (what a saved quantized copy holds; else nf4 on CUDA, fp32 on CPU),
    "nf4", "int8", "bf16", "fp16" or "fp32". max_gpu_memory_gib caps GPU 0 and offloads the rest
    to CPU. kv_cache_bits (8 or 16) is the KV width the fit check assumes; the cache itself is built
    by whoever decodes (`new_cache(config, bits)`), nothing is stored on the model config.
    """
    if quantization not in QUANTIZATIONS:
        raise ModelLoadError("engine.unknown_quantization", quantization=quantization, choices=", ".join(QUANTIZATIONS))
    if kv_cache_bits not in (8, 16):
        raise ModelLoadError("engine.kv_cache_bits", bits=kv_cache_bits)
    folder = resolve_checkpoint(path_or_id, local_files_only=local_files_only)
    check_shards(folder)
    config = _load_config(folder)
    quantization = _choose_quantization(config, quantization)
    device_map, max_memory = _placement(device_map, max_gpu_memory_gib)
    _check_gpu_fits(config, quantization, device_map, max_memory, context_tokens, kv_cache_bits, embed_on_cpu)
    prequantized = _saved_quantization(config) is not None
    model = _from_pretrained(folder, quantization, device_map, max_memory, prequantized)
    if embed_on_cpu:
        _move_embedding_to_cpu(model)
    return model.eval(), _load_tokenizer(folder)


def resolve_checkpoint(path_or_id: str | Path, *, local_files_only: bool = True) -> Path:
    """A local directory holding the checkpoint: the path itself, or the cached hub snapshot."""
    path = Path(path_or_id).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError("engine.not_a_model_folder", path=str(path))
        return path
    if str(path_or_id).count("/") != 1 or str(path_or_id).startswith((".", "/", "~")):
        raise ModelNotFoundError("engine.no_model_folder", path=str(path_or_id))
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(str(path_or_id), local_files_only=local_files_only))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as error:
        code = "engine.model_not_cached" if local_files_only else "engine.model_not_found"
        raise ModelNotFoundError(code, model=str(path_or_id)) from error


def check_shards(folder: Path) -> None:
    """Raise MissingShardsError unless every weight file the checkpoint names is present."""
    for index_name in WEIGHT_INDEX_FILES:
        index_path = folder / index_name
        if index_path.is_file():
            try:
                weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
            except (ValueError, KeyError, TypeError) as error:
                raise MissingShardsError("engine.bad_weight_index", path=str(index_path), detail=str(error)) from error
            missing = sorted({name for name in weight_map.values() if not (folder / name).is_file()})
            if missing:
                raise MissingShardsError("engine.missing_shards", folder=str(folder), count=len(missing),
                                         names=", ".join(missing[:5]) + (", ..." if len(missing) > 5 else ""))
            return
    if not any((folder / name).is_file() for name in SINGLE_WEIGHT_FILES):
        raise MissingShardsError("engine.no_weights", folder=str(folder))


def read_config(folder: Path) -> PreTrainedConfig:
    """The checkpoint's config (errors as ModelLoadError)."""
    return _load_config(folder)


def resolved_quantization(config: PreTrainedConfig, requested: str) -> str:
    """What load_model will load for `requested` ("auto" resolved; saved copies keep theirs)."""
    return _choose_quantization(config, requested)


def _load_config(folder: Path) -> PreTrainedConfig:
    try:
        return AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelLoadError("engine.bad_config", path=str(folder / "config.json"), detail=str(error)) from error


def _choose_quantization(config: PreTrainedConfig, requested: str) -> str:
    """Resolve "auto" and refuse to re-quantize a checkpoint saved already quantized."""
    saved = _saved_quantization(config)
    if saved is not None:
        if requested not in ("auto", saved):
            raise ModelLoadError("engine.saved_quantized", saved=saved)
        return saved
    if requested == "auto":
        return "nf4" if torch.cuda.is_available() else "fp32"
    return requested


def _saved_quantization(config: PreTrainedConfig) -> str | None:
    saved = getattr(config, "quantization_config", None)
    if saved is None:
        return None
    saved = saved if isinstance(saved, dict) else saved.to_dict()
    return "nf4" if saved.get("load_in_4bit") else "int8" if saved.get("load_in_8bit") else None


def _placement(
    device_map: str | dict[str, Any] | None, max_gpu_memory_gib: float | None
) -> tuple[str | dict[str, Any] | None, dict[Any, str] | None]:
    """(device_map, max_memory) for from_pretrained; a GPU budget implies "auto" with CPU offload."""
    if max_gpu_memory_gib is None:
        if device_map is None and torch.cuda.is_available():
            device_map = {"": 0}
        return device_map, None
    if max_gpu_memory_gib <= 0:
        raise ModelLoadError("engine.gpu_budget_not_positive", budget=max_gpu_memory_gib)
    if not torch.cuda.is_available():
        raise ModelLoadError("engine.gpu_budget_without_gpu")
    return device_map or "auto", {0: f"{max_gpu_memory_gib}GiB", "cpu": CPU_OFFLOAD_BUDGET}


def _check_gpu_fits(
    config: PreTrainedConfig,
    quantization: str,
    device_map: str | dict[str, Any] | None,
    max_memory: dict[Any, str] | None,
    context_tokens: int | None,
    kv_cache_bits: int,
    embed_on_cpu: bool,
) -> None:
    """Refuse before loading when weights + KV cannot fit the one device everything goes to
    (a GPU's free memory, or available RAM on a CPU-only machine)."""
    if max_memory is not None or device_map not in (None, {"": 0}):
        return  # offloading to CPU is allowed, so accelerate places what does not fit
    free_bytes = torch.cuda.mem_get_info(0)[0] if device_map == {"": 0} else _available_ram()
    if free_bytes is None:
        return
    context = context_tokens if context_tokens else int(getattr(config, "max_position_embeddings", 4096))
    estimate = estimate_memory(config, quantization, context, kv_cache_bits, embed_on_cpu=embed_on_cpu)
    if estimate["total"] > free_bytes:
        raise InsufficientMemoryError(fit_advice(config, estimate, free_bytes, quantization, context))


def _available_ram() -> int | None:
    """Available physical memory in bytes (Linux sysconf), or None where it cannot be read."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _quantization_kwargs(quantization: str, offloading: bool) -> dict[str, Any]:
    """from_pretrained keyword arguments for one quantization choice."""
    if quantization == "nf4":
        bnb = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=UNQUANTIZED_MODULES,
            llm_int8_enable_fp32_cpu_offload=offloading,
        )
        return {"quantization_config": bnb, "dtype": torch.bfloat16}
    if quantization == "int8":
        bnb = BitsAndBytesConfig(
            load_in_8bit=True, llm_int8_skip_modules=UNQUANTIZED_MODULES, llm_int8_enable_fp32_cpu_offload=offloading
        )
        return {"quantization_config": bnb, "dtype": torch.float16}
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    return {"dtype": dtypes[quantization]}


def _from_pretrained(
    folder: Path,
    quantization: str,
    device_map: str | dict[str, Any] | None,
    max_memory: dict[Any, str] | None,
    prequantized: bool,
) -> Any:
    """AutoModelForCausalLM.from_pretrained with every failure mapped to a ModelLoadError."""
    kwargs = _quantization_kwargs(quantization, offloading=max_memory is not None)
    if prequantized:  # the saved quantization_config in config.json is used as is
        kwargs.pop("quantization_config")
    if quantization in ("nf4", "int8"):
        _require_bitsandbytes()
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            folder, trust_remote_code=False, local_files_only=True, device_map=device_map,
            max_memory=max_memory, output_loading_info=True, **kwargs,
        )
    except torch.OutOfMemoryError as error:
        raise InsufficientMemoryError("engine.out_of_memory", quantization=quantization) from error
    except (RuntimeError, ImportError) as error:
        if quantization in ("nf4", "int8") and ("cuda" in str(error).lower() or "bitsandbytes" in str(error)):
            raise QuantizationUnavailableError(_bnb_advice(quantization, error)) from error
        raise ModelLoadError("engine.load_failed", folder=str(folder), detail=str(error)) from error
    except (OSError, ValueError, KeyError) as error:
        raise ModelLoadError("engine.load_failed", folder=str(folder), detail=str(error)) from error
    _refuse_incomplete(folder, info)
    return model


def _refuse_incomplete(folder: Path, info: dict[str, Any]) -> None:
    """A tensor the model needs but the checkpoint lacks would silently stay random: refuse."""
    missing = sorted(info.get("missing_keys") or [])
    mismatched = [
        str(entry[0]) if isinstance(entry, tuple) else str(entry) for entry in info.get("mismatched_keys") or []
    ]
    if missing or mismatched:
        names = ", ".join((missing + mismatched)[:5])
        raise MissingShardsError("engine.missing_tensors", folder=str(folder), missing=len(missing),
                                 mismatched=len(mismatched), names=names)


def _require_bitsandbytes() -> None:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as error:
        raise QuantizationUnavailableError(_bnb_advice("nf4/int8", error)) from error


def _bnb_advice(quantization: str, error: BaseException) -> str:
    return (
        f"{quantization} needs bitsandbytes with a backend for this machine ({error}). Install a "
        "bitsandbytes build for your GPU (or with CPU support), or load with --quantization bf16/fp32."
    )


def _move_embedding_to_cpu(model: Any) -> None:
    """Keep the input embedding in CPU RAM (saves vocab x hidden x 2 bytes of GPU memory).

    XverseModel.forward moves token ids to the embedding's device and the result to the layers'.
    """
    embedding = model.get_input_embeddings()
    if embedding.weight.device.type == "meta":
        return  # accelerate already offloads it to CPU and streams it in per forward
    if hasattr(embedding, "_hf_hook"):
        from accelerate.hooks import remove_hook_from_module

        remove_hook_from_module(embedding)
    embedding.to("cpu")


def _load_tokenizer(folder: Path) -> Any:
    try:
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelLoadError("engine.bad_tokenizer", folder=str(folder), detail=str(error)) from error


def save_quantized(model: Any, tokenizer: Any, out_dir: str | Path) -> Path:
    """Save a loaded (e.g. nf4) model + tokenizer to `out_dir` for fast reloads; all or nothing.

    Written into a temporary sibling folder first and renamed into place, so a failure leaves no
    half-written checkpoint. An existing non-empty out_dir is refused.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ModelLoadError("engine.out_dir_not_empty", path=str(out_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        _drop_runtime_keys(staging / "config.json")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _drop_runtime_keys(config_path: Path) -> None:
    """Runtime-only options (KV cache width) do not belong in a saved checkpoint."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("kv_cache_bits", None)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


__all__ = [
    "GIB",
    "InsufficientMemoryError",
    "MissingShardsError",
    "ModelLoadError",
    "ModelNotFoundError",
    "QuantizationUnavailableError",
    "estimate_memory",
    "load_model",
    "resolve_checkpoint",
    "save_quantized",
]
