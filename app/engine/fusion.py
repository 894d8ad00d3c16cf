"""Load-time fusion of projections that read the same input: q/k/v -> qkv_proj, gate/up -> gate_up_proj.

One matmul (one bitsandbytes gemv on the 4-bit path) instead of three or two per layer. The fused
weight is the row-wise concatenation [q; k; v] or [gate; up], so outputs are the same numbers.
Dense `nn.Linear`s are concatenated directly; bitsandbytes NF4 layers are concatenated code for
code (their double-quantized absmax expanded to fp32), so no weight is re-quantized. Anything else
(int8 layers, offloaded modules, biases) is left as it is.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from app.engine.xverse.attention import XverseAttention
from app.engine.xverse.moe import XverseMLP
from app.engine.xverse.nf4 import is_nf4_linear, nf4_from_bnb, nf4_table


def fuse_projections(model: Any) -> int:
    """Fuse every XVERSE attention's q/k/v and every SwiGLU MLP's gate/up; returns how many were fused."""
    fused = 0
    for module in model.modules():
        if isinstance(module, XverseAttention) and module.qkv_proj is None:
            combined = concat_linears([module.q_proj, module.k_proj, module.v_proj])
            if combined is not None:
                module.qkv_proj = combined
                module.q_proj = module.k_proj = module.v_proj = None  # type: ignore[assignment]
                fused += 1
        elif isinstance(module, XverseMLP) and module.gate_up_proj is None:
            combined = concat_linears([module.gate_proj, module.up_proj])
            if combined is not None:
                module.gate_up_proj = combined
                module.gate_proj = module.up_proj = None  # type: ignore[assignment]
                fused += 1
    return fused


def concat_linears(linears: list[Any]) -> nn.Module | None:
    """One layer whose output rows are the given layers' rows in order, or None when they cannot
    be concatenated exactly (different kinds, biases, offloaded or meta weights)."""
    if any(getattr(layer, "bias", None) is not None or hasattr(layer, "_hf_hook") for layer in linears):
        return None
    if any(layer.weight.device.type == "meta" for layer in linears):
        return None
    in_features = {layer.in_features for layer in linears}
    if len(in_features) != 1:
        return None
    if all(type(layer) is nn.Linear for layer in linears):
        weight = torch.cat([layer.weight.detach() for layer in linears])
        fused = nn.Linear(in_features.pop(), weight.shape[0], bias=False, device=weight.device, dtype=weight.dtype)
        fused.weight = nn.Parameter(weight, requires_grad=False)
        return fused
    if all(is_nf4_linear(layer) for layer in linears):
        return _concat_nf4(linears)
    return None


def _concat_nf4(linears: list[Any]) -> nn.Module:
    """bitsandbytes NF4 layers [O_i, I] -> one Linear4bit [sum O_i, I] holding the same codes."""
    import bitsandbytes as bnb
    from bitsandbytes.functional import QuantState

    parts = [nf4_from_bnb(layer) for layer in linears]
    codes = torch.cat([c for c, _ in parts])  # [O, I/2] uint8
    absmax = torch.cat([a for _, a in parts])  # [O, I/64] fp32
    rows, cols = codes.shape[0], linears[0].in_features
    first = linears[0]
    state = first.weight.quant_state
    device = codes.device
    fused = bnb.nn.Linear4bit(cols, rows, bias=False, compute_dtype=first.compute_dtype, compress_statistics=False,
                              quant_type="nf4", quant_storage=first.weight.quant_storage, device="meta")
    quant_state = QuantState(absmax=absmax.reshape(-1).to(device), shape=torch.Size([rows, cols]),
                             code=nf4_table(torch.float32, device), blocksize=state.blocksize,
                             quant_type="nf4", dtype=state.dtype)
    fused.weight = bnb.nn.Params4bit(codes.reshape(-1, 1), requires_grad=False, quant_state=quant_state,
                                     blocksize=state.blocksize, compress_statistics=False, quant_type="nf4",
                                     quant_storage=first.weight.quant_storage, module=fused, bnb_quantized=True)
    fused.quant_state = quant_state
    return fused
