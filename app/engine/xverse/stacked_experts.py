"""The routed experts of one MoE layer stacked on an expert dimension, run without host syncs.

Formats (chosen at conversion, app.engine.fused_moe):
  "nf4"   gate_up codes uint8 [E, 2I, H/2] + absmax [E, 2I, H/64]; down codes [E, H, I/2] + absmax
          [E, H, I/64] (nf4.py's layout: the bytes of the per-expert bitsandbytes weights, unchanged)
  "dense" gate_up [E, 2I, H] and down [E, H, I] in the model dtype (fp32/bf16 loads)
Rows 0..I-1 of gate_up are the gate projection, I..2I-1 the up projection.

Kernels ("kernel" attribute): "torch" is the pure-torch reference and the CPU default; "triton"
(CUDA) runs one fused kernel per projection pair that reads only the selected experts' weights
(app.engine.xverse.triton_moe). Both give the same numbers up to summation order.

Decode-sized batches (N*K <= GATHER_SLOTS) take the gathered path: the K selected experts of every
token are gathered on the device by id and applied with batched matmuls. No host read, static
shapes: it is what a CUDA graph captures. Larger (prefill) batches group tokens by expert and run
each used expert once: one host read of the per-expert counts per layer per prefill chunk.
Shapes: N tokens, H hidden, E experts, K top-k, I expert width, S = N*K slots.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from app.engine.xverse.nf4 import dequantize_nf4, pair_table

GATHER_SLOTS = 64  # token-expert slots up to which the gathered (sync-free) path is used


def triton_runs_on(tensor: torch.Tensor) -> bool:
    """The Triton kernels run on CUDA tensors (tests call them directly under Triton's interpreter)."""
    return tensor.is_cuda


class StackedExperts(nn.Module):
    """E routed SwiGLU experts as stacked tensors; forward(flat, weights, ids) -> weighted sum."""

    gate_up: torch.Tensor  # "dense" buffers
    down: torch.Tensor
    gate_up_codes: torch.Tensor  # "nf4" buffers
    gate_up_absmax: torch.Tensor
    down_codes: torch.Tensor
    down_absmax: torch.Tensor
    table: torch.Tensor

    def __init__(self, fmt: str, tensors: dict[str, torch.Tensor], width: int, dtype: torch.dtype) -> None:
        super().__init__()
        if fmt not in ("nf4", "dense"):
            raise ValueError(f"unknown stacked expert format {fmt!r}")
        self.format, self.width, self.compute_dtype = fmt, width, dtype
        self.kernel = "torch"
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor, persistent=False)
        if fmt == "nf4":
            self.register_buffer("table", pair_table(dtype, tensors["gate_up_codes"].device), persistent=False)

    @property
    def num_experts(self) -> int:
        return (self.gate_up_codes if self.format == "nf4" else self.gate_up).shape[0]

    def forward(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor,
                shared: torch.Tensor | None = None) -> torch.Tensor:
        """flat [N, H], weights [N, K] fp32, expert_ids [N, K] -> [N, H] in flat's dtype, plus
        `shared` [N, H] (the shared experts' output) when given, added inside the last matmul."""
        if self.kernel == "triton" and expert_ids.numel() <= GATHER_SLOTS and triton_runs_on(flat):
            from app.engine.xverse.triton_moe import triton_moe

            return triton_moe(self, flat, weights, expert_ids, shared)
        if expert_ids.numel() <= GATHER_SLOTS:
            return self._gathered(flat, weights, expert_ids, shared)
        routed = self._grouped(flat, weights, expert_ids)
        return routed if shared is None else routed + shared

    def gate_up_of(self, ids: torch.Tensor | slice) -> torch.Tensor:
        """ids [S] (or a slice of experts) -> gate_up weights [S, 2I, H] in the compute dtype."""
        if self.format == "dense":
            return _take(self.gate_up, ids)
        return dequantize_nf4(_take(self.gate_up_codes, ids), _take(self.gate_up_absmax, ids), self.table)

    def down_of(self, ids: torch.Tensor | slice) -> torch.Tensor:
        """ids [S] (or a slice of experts) -> down weights [S, H, I] in the compute dtype."""
        if self.format == "dense":
            return _take(self.down, ids)
        return dequantize_nf4(_take(self.down_codes, ids), _take(self.down_absmax, ids), self.table)

    def _gathered(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor,
                  shared: torch.Tensor | None) -> torch.Tensor:
        """Every token's K experts at once; 8 ops (dense) or 16 (nf4) for the whole layer."""
        tokens, top_k = expert_ids.shape
        ids = expert_ids.reshape(-1)  # [S], token-major
        x = flat.to(self.compute_dtype)
        # Row-vector products (x^T W^T): the same single bmm, but CPU BLAS runs this form several
        # times faster than matrix @ column-vector.
        gate_up = self.gate_up_of(ids).view(tokens, top_k * 2 * self.width, -1)  # [N, K*2I, H]
        projected = torch.bmm(x.unsqueeze(1), gate_up.transpose(1, 2)).view(tokens, top_k, 2, self.width)
        hidden = F.silu(projected[:, :, 0]) * projected[:, :, 1]  # [N, K, I]
        down = self.down_of(ids)  # [S, H, I]
        out = torch.bmm(hidden.reshape(tokens * top_k, 1, self.width), down.transpose(1, 2))  # [S, 1, H]
        mix = weights.to(out.dtype).view(tokens, 1, top_k)
        if shared is None:
            mixed = torch.bmm(mix, out.view(tokens, top_k, -1))  # [N, 1, H]
        else:  # shared + weighted sum of the K outputs, one op
            mixed = torch.baddbmm(shared.to(out.dtype).view(tokens, 1, -1), mix, out.view(tokens, top_k, -1))
        return mixed.view(tokens, -1).to(flat.dtype)

    def _grouped(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor) -> torch.Tensor:
        """Prefill: slots sorted by expert; each used expert is dequantized once for its tokens."""
        top_k = expert_ids.shape[1]
        slot_expert = expert_ids.reshape(-1)  # [S]
        order = slot_expert.argsort(stable=True)
        token_of_slot = order // top_k
        slot_weight = weights.reshape(-1)[order]
        counts = torch.bincount(slot_expert, minlength=self.num_experts).tolist()  # one host read per layer
        x = flat.to(self.compute_dtype)
        output = torch.zeros(flat.shape, dtype=torch.float32, device=flat.device)  # [N, H] accumulator
        start = 0
        for expert, count in enumerate(counts):
            if not count:
                continue
            tokens = token_of_slot[start : start + count]
            one = slice(expert, expert + 1)
            gate_up, down = self.gate_up_of(one)[0], self.down_of(one)[0]
            projected = x.index_select(0, tokens) @ gate_up.T  # [n, 2I]
            hidden = F.silu(projected[:, : self.width]) * projected[:, self.width :]
            out = (hidden @ down.T).to(torch.float32) * slot_weight[start : start + count, None]
            output.index_add_(0, tokens, out)
            start += count
        return output.to(flat.dtype)


def _take(stacked: torch.Tensor, ids: torch.Tensor | slice) -> torch.Tensor:
    """Rows of the expert dimension: a device-side gather for an id tensor, a view for a slice."""
    return stacked[ids] if isinstance(ids, slice) else stacked.index_select(0, ids)
