"""The 4-bit group-wise (NF4) weight layout of the stacked experts, and its pure-torch dequantizer.

Layout of one weight [O, I] (I a multiple of GROUP): `codes` uint8 [O, I/2], two 4-bit indexes per
byte, the even column in the high nibble (bitsandbytes' order); `absmax` [O, I/GROUP], one scale per
GROUP consecutive weights of a row. weight[o, i] = NF4[code(o, i)] * absmax[o, i // GROUP].

This is exactly what a bitsandbytes NF4 `Linear4bit` holds (blocksize 64 over the row-major weight,
so blocks never straddle rows when I % 64 == 0), once its double-quantized absmax is expanded: the
conversion copies the codes and dequantizes only the absmax, so the stacked weights equal the
per-expert ones bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

GROUP = 64
# The NF4 code book (QLoRA; identical to bitsandbytes' `get_4bit_type("nf4")`).
NF4_VALUES = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044006, 0.5626170039176941, 0.7229568362236023, 1.0,
)


def nf4_table(dtype: torch.dtype, device: torch.device | str = "cpu") -> torch.Tensor:
    """[16] NF4 values."""
    return torch.tensor(NF4_VALUES, dtype=dtype, device=device)


def pair_table(dtype: torch.dtype, device: torch.device | str = "cpu") -> torch.Tensor:
    """[256, 2]: the two NF4 values a packed byte holds (high nibble first), for a one-op lookup."""
    values = nf4_table(torch.float32, device)
    byte = torch.arange(256, device=device)
    return torch.stack((values[byte >> 4], values[byte & 15]), dim=-1).to(dtype)


def quantize_nf4(weight: torch.Tensor, group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """weight [O, I] float -> (codes uint8 [O, I/2], absmax fp32 [O, I/group]); nearest NF4 value."""
    rows, cols = weight.shape
    if cols % group:
        raise ValueError(f"in_features {cols} is not a multiple of the group size {group}")
    blocks = weight.to(torch.float32).reshape(rows, cols // group, group)
    absmax = blocks.abs().amax(dim=-1).clamp(min=torch.finfo(torch.float32).tiny)  # [O, I/group]
    normed = blocks / absmax[..., None]
    indexes = (normed[..., None] - nf4_table(torch.float32, weight.device)).abs().argmin(dim=-1)  # [O, I/g, g]
    indexes = indexes.reshape(rows, cols // 2, 2).to(torch.uint8)
    return (indexes[..., 0] << 4) | indexes[..., 1], absmax


WORD_OF_PAIR = {2: torch.int32, 4: torch.int64}  # element size -> an integer type as wide as two elements


def dequantize_nf4(codes: torch.Tensor, absmax: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """codes uint8 [..., O, I/2], absmax [..., O, I/G], table [256, 2] (pair_table) -> [..., O, I]
    in table's dtype. Three ops: widen the indexes, look up pairs, scale by group (the rest are views).
    The lookup reads each pair as one integer word (a 1-D gather, ≈2× faster on CPU than an
    embedding of 2-wide rows); dtypes without such a word fall back to the embedding."""
    word = WORD_OF_PAIR.get(table.element_size())
    indexes = codes.to(torch.int32)
    if word is not None and table.is_contiguous():
        values = table.view(word).view(-1).index_select(0, indexes.reshape(-1)).view(table.dtype)  # [2 * codes]
    else:
        values = F.embedding(indexes, table)
    *lead, rows, groups = absmax.shape
    scaled = values.view(*lead, rows, groups, -1) * absmax[..., None].to(table.dtype)
    return scaled.view(*lead, rows, -1)


def is_nf4_linear(module: Any) -> bool:
    """A bitsandbytes Linear4bit holding NF4 weights whose blocks align with rows."""
    weight = getattr(module, "weight", None)
    state = getattr(weight, "quant_state", None)
    if state is None or getattr(state, "quant_type", None) != "nf4":
        return False
    return state.blocksize == GROUP and module.in_features % GROUP == 0


def nf4_from_bnb(module: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A bitsandbytes NF4 Linear4bit [O, I] -> (codes uint8 [O, I/2], absmax fp32 [O, I/64]).

    The codes are the module's own bytes; a double-quantized (nested) absmax is expanded the way
    bitsandbytes' dequantize_4bit does (blockwise dequantize + offset). A layer that bitsandbytes
    has already repacked for its CPU kernel (after a first CPU forward) is unpacked on a copy.
    """
    import copy

    import bitsandbytes.functional as bnb_functional

    state = module.weight.quant_state
    rows, cols = module.out_features, module.in_features
    data = module.weight.data
    if getattr(state, "packing_format_for_cpu", False):
        state = copy.deepcopy(state)
        data, state = bnb_functional._convert_weight_packed_for_cpu_inverse(data.clone(), state)
    absmax = state.absmax
    if state.nested:
        absmax = bnb_functional.dequantize_blockwise(absmax, state.state2) + state.offset
    codes = data.reshape(rows, cols // 2)
    return codes.clone(), absmax.to(torch.float32).reshape(rows, cols // GROUP).clone()
