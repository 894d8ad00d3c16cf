"""Loading a checkpoint for the local engine: load_model plus the runtime choices made once at load.

On top of `loading.load_model` (which returns a plain, savable transformers model) this picks the
KV-cache width from the memory estimate when none is given, turns on dynamic NTK when the
requested context exceeds the checkpoint's trained length, fuses q/k/v and gate/up projections,
and installs the device-side MoE (fused_moe). Every choice is reported in a RuntimeReport.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.engine.expert_offload import accelerator_budget, load_with_expert_offload, plan_expert_offload
from app.engine.fused_moe import MoePath, install_fused_moe
from app.engine.fusion import fuse_projections
from app.engine.loading import load_model, read_config, resolve_checkpoint, resolved_quantization
from app.engine.memory_estimate import GIB, estimate_memory
from app.engine.runtime_report import RuntimeReport
from app.engine.triton_attention import int8_reader

FIT_MARGIN = 0.9  # use at most this share of free memory for weights + a 16-bit KV cache
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    context_length: int
    quantization: str
    kv_cache_bits: int
    report: RuntimeReport


def load_for_engine(path: str, *, context_length: int | None = None, quantization: str = "auto",
                    kv_cache_bits: int | None = None, moe_backend: str = "auto", fuse: bool = True,
                    local_files_only: bool = True, accelerator: torch.device | None = None,
                    **load_options: Any) -> LoadedModel:
    """Load `path` as the engine runs it. kv_cache_bits None = choose from the memory estimate.
    An NF4 MoE that does not fit the accelerator (CUDA device 0 unless `accelerator` says) keeps part
    of its routed experts in CPU RAM (app.engine.expert_offload) instead of offloading whole layers."""
    folder = resolve_checkpoint(path, local_files_only=local_files_only)
    config = read_config(folder)
    trained = getattr(config, "max_position_embeddings", None) or 4096
    context = context_length or trained
    quantization = resolved_quantization(config, quantization)
    embed_on_cpu = bool(load_options.get("embed_on_cpu", False))
    offloading = load_options.get("max_gpu_memory_gib") is not None
    if kv_cache_bits is None:
        kv_cache_bits, kv_note = choose_kv_cache_bits(config, quantization, context, embed_on_cpu, offloading)
    else:
        kv_note = "as requested"
    load_options.setdefault("context_tokens", context)
    model, tokenizer, moe = _load_weights(folder, config, quantization, kv_cache_bits, context, moe_backend,
                                          accelerator, load_options)
    context_note = enable_dynamic_ntk(model, context)
    if fuse:
        fuse_projections(model)
    reader = f"; read in place by {int8_reader(model)}" if kv_cache_bits == 8 else ""
    report = RuntimeReport(moe_path=moe.describe(), kv_cache=f"{kv_cache_bits}-bit ({kv_note}{reader})",
                           decode_step="eager", context_note=context_note,
                           rope_extended=context_note.startswith("dynamic NTK"))
    for line in report.lines():
        log.info("%s", line)
    return LoadedModel(model, tokenizer, context, quantization, kv_cache_bits, report)


def _load_weights(folder: Path, config: Any, quantization: str, kv_cache_bits: int, context: int, moe_backend: str,
                  accelerator: torch.device | None, load_options: dict[str, Any]) -> tuple[Any, Any, MoePath]:
    """(model, tokenizer, MoE path): with part of the routed experts in CPU RAM when an NF4 MoE does
    not fit the accelerator's budget (expert_offload), else load_model and the fused MoE."""
    if accelerator is None and torch.cuda.is_available():
        accelerator = torch.device("cuda", 0)
    budget = accelerator_budget(load_options.get("max_gpu_memory_gib"), accelerator)
    embed_on_cpu = bool(load_options.get("embed_on_cpu", False))
    if accelerator is not None and budget is not None and moe_backend != "per-expert" \
            and load_options.get("device_map") is None:
        placement = plan_expert_offload(config, quantization, context, kv_cache_bits, embed_on_cpu, budget)
        if placement is not None:
            return load_with_expert_offload(folder, placement, accelerator, kv_cache_bits=kv_cache_bits,
                                            context=context, embed_on_cpu=embed_on_cpu, moe_backend=moe_backend)
    model, tokenizer = load_model(folder, quantization=quantization, kv_cache_bits=kv_cache_bits,
                                  local_files_only=True, **load_options)
    return model, tokenizer, install_fused_moe(model, moe_backend)  # it reads the experts' own projections


def choose_kv_cache_bits(config: Any, quantization: str, context: int, embed_on_cpu: bool,
                         offloading: bool, free_bytes: int | None = None) -> tuple[int, str]:
    """(16 or 8, why): a 16-bit cache when weights + a 16-bit KV cache at `context` fit in
    FIT_MARGIN of the free memory of the device everything goes to, else int8."""
    if offloading:
        return 8, "CPU offload: memory is tight"
    free = free_bytes if free_bytes is not None else _free_bytes()
    if free is None:
        return 8, "free memory unknown"
    need = estimate_memory(config, quantization, context, 16, embed_on_cpu=embed_on_cpu)["total"]
    if need <= FIT_MARGIN * free:
        return 16, f"weights + 16-bit KV at {context} tokens need {need / GIB:.1f} of {free / GIB:.1f} GiB free"
    return 8, f"a 16-bit KV cache would not fit: {need / GIB:.1f} GiB needed, {free / GIB:.1f} GiB free"


def _free_bytes() -> int | None:
    if torch.cuda.is_available():
        return int(torch.cuda.mem_get_info(0)[0])
    from app.engine.loading import _available_ram

    return _available_ram()


def enable_dynamic_ntk(model: Any, context: int) -> str:
    """Stretch RoPE with dynamic NTK when `context` exceeds the trained length; returns the note
    for the log and Settings ("" when nothing changes). The factor is context / trained length;
    below the trained length dynamic NTK changes nothing, so short prompts are unaffected."""
    trained = getattr(model.config, "max_position_embeddings", None)
    if not trained or context <= trained:
        return ""
    rotary = getattr(getattr(model, "model", None), "rotary", None)
    if rotary is None or not hasattr(rotary, "ntk_factor"):
        return f"context {context} exceeds the trained {trained} tokens; this model's RoPE is not rescaled"
    if rotary.ntk_factor is None:
        rotary.ntk_factor = context / trained
        source = "turned on"
    else:
        source = "from the checkpoint"
    return f"dynamic NTK x{rotary.ntk_factor:.2f} ({source}): context {context} > trained {trained} tokens"
