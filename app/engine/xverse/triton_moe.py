"""Triton kernels for the stacked experts: one kernel per projection pair, reading only the weights of
the experts each token selected (no gathered copy, no host read).

  gate_up kernel  grid (S slots, I / BLOCK_I): act[s] = silu(W_gate[e_s] x_t) * (W_up[e_s] x_t)
  down kernel     grid (N tokens, H / BLOCK_O): y[t] = shared[t] + sum_k w[t,k] * W_down[e_tk] act[t*K+k]
NF4 weights are dequantized in registers (16-entry code book, one absmax per 64-weight group, two
codes per byte, high nibble = even column); dense weights are read as they are. Accumulation is fp32.

Choice: our own Triton kernels (pip `triton`, the compiler torch's CUDA builds already depend on)
rather than a third-party MoE package: the maintained fused-MoE kernels (vLLM/SGLang) are 16-bit or
GPTQ/AWQ int4 and need their serving stack; bitsandbytes has no MoE kernel. On CPU they run under
TRITON_INTERPRET=1 (tests only, slow); the pure-torch path in stacked_experts.py is the reference
and the CPU default.
"""

from __future__ import annotations

from typing import Any

import torch

from app.engine.op_census import one_launch
from app.engine.triton_support import tl, triton, unavailable_reason

GROUP = 64


if triton is not None:

    @triton.jit
    def _row_block(codes_ptr, absmax_ptr, dense_ptr, table_ptr, expert, w_stride, s_stride, cols, col0,
                   row_offsets, row_mask, x_even, x_odd, NF4: tl.constexpr):
        """[BLOCK_ROWS] partial dot products of rows `row_offsets` of expert `expert` with one
        64-column group (x split into even and odd columns, 32 each). w_stride / s_stride: elements
        from one expert's weights (codes or dense) / absmax to the next's."""
        pairs = tl.arange(0, 32)
        if NF4:
            base = expert * w_stride + row_offsets[:, None] * (cols // 2) + col0 // 2 + pairs[None, :]
            packed = tl.load(codes_ptr + base, mask=row_mask[:, None], other=0).to(tl.int32)
            high = tl.load(table_ptr + (packed >> 4))
            low = tl.load(table_ptr + (packed & 15))
            scale = tl.load(absmax_ptr + expert * s_stride + row_offsets * (cols // 64)
                            + col0 // 64, mask=row_mask, other=0.0).to(tl.float32)
            partial = tl.sum(high * x_even[None, :] + low * x_odd[None, :], axis=1)
            return partial * scale
        base = expert * w_stride + row_offsets[:, None] * cols + col0 + 2 * pairs[None, :]
        even = tl.load(dense_ptr + base, mask=row_mask[:, None], other=0.0).to(tl.float32)
        odd = tl.load(dense_ptr + base + 1, mask=row_mask[:, None], other=0.0).to(tl.float32)
        return tl.sum(even * x_even[None, :] + odd * x_odd[None, :], axis=1)


    @triton.jit
    def _gate_up_kernel(x_ptr, ids_ptr, codes_ptr, absmax_ptr, dense_ptr, table_ptr, act_ptr, w_stride, s_stride,
                        hidden, width, top_k, NF4: tl.constexpr, BLOCK_I: tl.constexpr):
        slot = tl.program_id(0)
        block = tl.program_id(1)
        expert = tl.load(ids_ptr + slot)
        token = slot // top_k
        rows = tl.arange(0, BLOCK_I) + block * BLOCK_I
        row_mask = rows < width
        gate = tl.zeros((BLOCK_I,), dtype=tl.float32)
        up = tl.zeros((BLOCK_I,), dtype=tl.float32)
        pairs = tl.arange(0, 32)
        for col0 in range(0, hidden, 64):
            x_even = tl.load(x_ptr + token * hidden + col0 + 2 * pairs).to(tl.float32)
            x_odd = tl.load(x_ptr + token * hidden + col0 + 2 * pairs + 1).to(tl.float32)
            gate += _row_block(codes_ptr, absmax_ptr, dense_ptr, table_ptr, expert, w_stride, s_stride, hidden,
                               col0, rows, row_mask, x_even, x_odd, NF4)
            up += _row_block(codes_ptr, absmax_ptr, dense_ptr, table_ptr, expert, w_stride, s_stride, hidden,
                             col0, rows + width, row_mask, x_even, x_odd, NF4)
        act = gate / (1.0 + tl.exp(-gate)) * up
        tl.store(act_ptr + slot * width + rows, act, mask=row_mask)

    @triton.jit
    def _down_kernel(act_ptr, ids_ptr, weights_ptr, shared_ptr, codes_ptr, absmax_ptr, dense_ptr, table_ptr,
                     out_ptr, w_stride, s_stride, hidden, width, top_k, HAS_SHARED: tl.constexpr, NF4: tl.constexpr,
                     BLOCK_O: tl.constexpr):
        token = tl.program_id(0)
        block = tl.program_id(1)
        rows = tl.arange(0, BLOCK_O) + block * BLOCK_O
        row_mask = rows < hidden
        acc = tl.zeros((BLOCK_O,), dtype=tl.float32)
        if HAS_SHARED:
            acc += tl.load(shared_ptr + token * hidden + rows, mask=row_mask, other=0.0).to(tl.float32)
        pairs = tl.arange(0, 32)
        for k in range(0, top_k):
            slot = token * top_k + k
            expert = tl.load(ids_ptr + slot)
            weight = tl.load(weights_ptr + slot).to(tl.float32)
            part = tl.zeros((BLOCK_O,), dtype=tl.float32)
            for col0 in range(0, width, 64):
                a_even = tl.load(act_ptr + slot * width + col0 + 2 * pairs)
                a_odd = tl.load(act_ptr + slot * width + col0 + 2 * pairs + 1)
                part += _row_block(codes_ptr, absmax_ptr, dense_ptr, table_ptr, expert, w_stride, s_stride, width,
                                   col0, rows, row_mask, a_even, a_odd, NF4)
            acc += weight * part
        tl.store(out_ptr + token * hidden + rows, acc, mask=row_mask)


def triton_moe(stacked: Any, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor,
               shared: torch.Tensor | None = None) -> torch.Tensor:
    """flat [N, H], weights [N, K], expert_ids [N, K] -> [N, H] (+ shared), two kernel launches."""
    if triton is None:
        raise RuntimeError(f"triton is not installed ({unavailable_reason()})")
    tokens, top_k = expert_ids.shape
    hidden, width = flat.shape[1], stacked.width
    nf4 = stacked.format == "nf4"
    x = flat.contiguous()
    ids = expert_ids.reshape(-1).contiguous()
    table = _code_book(stacked, flat.device)
    gate_up, down = _projection_args(stacked, table)
    act = torch.empty(tokens * top_k, width, dtype=torch.float32, device=flat.device)
    block_i = min(64, triton.next_power_of_2(width))
    with one_launch("triton_moe_gate_up"):
        _gate_up_kernel[(tokens * top_k, triton.cdiv(width, block_i))](
            x, ids, *gate_up, act, *_strides(stacked, gate_up), hidden, width, top_k, NF4=nf4, BLOCK_I=block_i)
    out = torch.empty(tokens, hidden, dtype=torch.float32, device=flat.device)
    block_o = min(64, triton.next_power_of_2(hidden))
    shared_arg = shared.contiguous() if shared is not None else out
    with one_launch("triton_moe_down"):
        _down_kernel[(tokens, triton.cdiv(hidden, block_o))](
            act, ids, weights.contiguous(), shared_arg, *down, out, *_strides(stacked, down), hidden, width, top_k,
            HAS_SHARED=shared is not None, NF4=nf4, BLOCK_O=block_o)
    return out.to(flat.dtype)


def _projection_args(stacked: Any, table: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """(codes, absmax, dense, table) pointer arguments of the gate_up and down kernels; the unused
    ones of the format get `table` (never read)."""
    if stacked.format == "nf4":
        return ((stacked.gate_up_codes, stacked.gate_up_absmax, table, table),
                (stacked.down_codes, stacked.down_absmax, table, table))
    return (table, table, stacked.gate_up, table), (table, table, stacked.down, table)


def _strides(stacked: Any, args: tuple[torch.Tensor, ...]) -> tuple[int, int]:
    """(weights, absmax) elements between consecutive experts: the nf4 views share one row per expert."""
    if stacked.format == "nf4":
        return args[0].stride(0), args[1].stride(0)
    return args[2].stride(0), 0


def _code_book(stacked: Any, device: torch.device) -> torch.Tensor:
    """[16] fp32 NF4 values, cached on the module (a tensor argument for the kernels)."""
    book = getattr(stacked, "_triton_code_book", None)
    if book is None or book.device != device:
        from app.engine.xverse.nf4 import nf4_table

        book = nf4_table(torch.float32, device)
        stacked._triton_code_book = book
    return book
