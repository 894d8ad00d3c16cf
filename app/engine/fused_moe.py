"""Choosing and installing the MoE dispatch path of a loaded XVERSE model (done once, at load).

Paths, best first:
  fused-triton  experts stacked (NF4 or dense), one Triton kernel per projection pair (CUDA + triton)
  fused-torch   experts stacked, the pure-torch gathered/grouped reference (the CPU default)
  per-expert    one nn.Linear (or bitsandbytes layer) per expert, ids read on the host each step;
                the automatic fallback when the experts cannot be stacked (int8 bitsandbytes
                experts, experts offloaded by accelerate, mixed layouts)
`install_fused_moe` converts layer by layer and frees each layer's per-expert modules right after
stacking it, so the peak is one layer above the loaded model. The chosen path is returned as a
`MoePath` (shown in EngineInfo.moe_path and the start-up log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.engine.xverse.moe import XverseMoE
from app.engine.xverse.nf4 import is_nf4_linear, nf4_from_bnb
from app.engine.xverse.stacked_experts import StackedExperts

MOE_BACKENDS = ("auto", "triton", "torch", "per-expert")
PROJECTIONS = ("gate_proj", "up_proj", "down_proj")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoePath:
    name: str  # "fused-triton" | "fused-torch" | "per-expert" | "dense" (no MoE layers)
    detail: str = ""  # the stacked format, or why the fallback was taken

    def describe(self) -> str:
        return f"{self.name} ({self.detail})" if self.detail else self.name


def moe_layers(model: Any) -> list[Any]:
    return [module for module in model.modules() if isinstance(module, XverseMoE)]


def install_fused_moe(model: Any, backend: str = "auto") -> MoePath:
    """Stack every MoE layer's experts for `backend` ("auto" picks triton on CUDA when available,
    else torch); returns the path taken. Leaves the model untouched on the per-expert path."""
    if backend not in MOE_BACKENDS:
        raise ValueError(f"moe backend must be one of {', '.join(MOE_BACKENDS)}, got {backend!r}")
    layers = moe_layers(model)
    if not layers:
        return MoePath("dense", "no MoE layers")
    if backend == "per-expert":
        return MoePath("per-expert", "requested")
    if any(layer.stacked is not None for layer in layers):
        return current_path(model)
    fmt, reason = stackable_format(layers)
    if fmt is None:
        log.info("MoE: per-expert path (%s)", reason)
        return MoePath("per-expert", reason)
    kernel, note = choose_kernel(backend, _experts_device(layers[0]))
    for layer in layers:
        layer.stacked = stack_experts(layer.experts, fmt)
        layer.stacked.kernel = kernel
        layer.experts = nn.ModuleList()  # frees the per-expert weights of this layer now
    path = MoePath(f"fused-{kernel}", f"{fmt} stacked experts" + (f"; {note}" if note else ""))
    log.info("MoE: %s", path.describe())
    return path


def current_path(model: Any) -> MoePath:
    """The path an already-loaded model runs (for EngineInfo)."""
    layers = moe_layers(model)
    if not layers:
        return MoePath("dense", "no MoE layers")
    stacked = layers[0].stacked
    if stacked is None:
        return MoePath("per-expert", "")
    return MoePath(f"fused-{stacked.kernel}", f"{stacked.format} stacked experts")


def stackable_format(layers: list[Any]) -> tuple[str | None, str]:
    """("nf4" | "dense", "") when every expert projection has that layout, else (None, why not)."""
    kinds = set()
    for layer in layers:
        for expert in layer.experts:
            for name in PROJECTIONS:
                module = getattr(expert, name)
                if hasattr(module, "_hf_hook") or module.weight.device.type == "meta":
                    return None, "experts offloaded by accelerate"
                if is_nf4_linear(module):
                    kinds.add("nf4")
                elif type(module) is nn.Linear:
                    kinds.add("dense")
                else:
                    return None, f"{type(module).__name__} experts cannot be stacked"
    if len(kinds) != 1:
        return None, "experts have mixed layouts"
    return kinds.pop(), ""


def choose_kernel(backend: str, device: torch.device) -> tuple[str, str]:
    """("triton" | "torch", note): triton on CUDA with the kernel importable, or on CPU when asked for
    by name under Triton's interpreter."""
    if backend == "torch":
        return "torch", ""
    if device.type != "cuda":
        if backend == "triton" and _interpreted_triton():
            return "triton", "Triton's CPU interpreter (slow: for tests and launch counts)"
        return "torch", "" if backend == "auto" else "triton needs CUDA; pure-torch reference used"
    from app.engine import triton_support

    if triton_support.available():
        return "triton", ""
    return "torch", f"triton unavailable ({triton_support.unavailable_reason()}); pure-torch reference used"


def _interpreted_triton() -> bool:
    from app.engine import triton_support

    return triton_support.available() and triton_support.interpreted()


def stack_experts(experts: Any, fmt: str) -> StackedExperts:
    """One layer's experts -> StackedExperts in `fmt`, on the experts' device."""
    width = experts[0].gate_proj.out_features
    if fmt == "dense":
        gate_up = torch.stack([torch.cat((e.gate_proj.weight, e.up_proj.weight)) for e in experts]).detach()
        down = torch.stack([e.down_proj.weight for e in experts]).detach()  # [E, H, I]
        return StackedExperts("dense", {"gate_up": gate_up, "down": down}, width, gate_up.dtype, gate_up.shape[-1])
    parts = [[nf4_from_bnb(getattr(e, name)) for name in PROJECTIONS] for e in experts]  # per expert: g, u, d
    compute_dtype = getattr(experts[0].gate_proj, "compute_dtype", None) or torch.bfloat16
    tensors = {  # one row per expert: gate codes, up codes, down codes (and their absmax in that order)
        "codes": torch.stack([torch.cat([p[0].reshape(-1) for p in expert]) for expert in parts]),
        "absmax": torch.stack([torch.cat([p[1].reshape(-1) for p in expert]) for expert in parts]).to(compute_dtype),
    }
    hidden = experts[0].gate_proj.in_features
    return StackedExperts("nf4", tensors, width, compute_dtype, hidden)


def _experts_device(layer: Any) -> torch.device:
    return layer.experts[0].gate_proj.weight.device
