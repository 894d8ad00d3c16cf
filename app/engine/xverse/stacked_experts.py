"""The routed experts of one MoE layer stacked on an expert dimension, run without host syncs.

Formats (chosen at conversion, app.engine.fused_moe):
  "nf4"   one expert's weights as one row: codes uint8 [E, I*H + H*I/2] = gate_up codes [2I, H/2] then
          down codes [H, I/2], and absmax [E, 2I*H/64 + H*I/64] in the same order (nf4.py's layout: the
          bytes of the per-expert bitsandbytes weights, unchanged), so gathering K experts is one
          index_select of each and one dequantization; `gate_up_codes` etc. are views of them
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

from app.engine.xverse.nf4 import GROUP, dequantize_nf4, pair_table

GATHER_SLOTS = 64  # token-expert slots up to which the gathered (sync-free) path is used


def triton_runs_on(tensor: torch.Tensor) -> bool:
    """The Triton kernels run on CUDA tensors, and on CPU ones under Triton's interpreter."""
    if tensor.is_cuda:
        return True
    from app.engine.triton_support import interpreted

    return interpreted()


class StackedExperts(nn.Module):
    """E routed SwiGLU experts as stacked tensors; forward(flat, weights, ids) -> weighted sum."""

    gate_up: torch.Tensor  # "dense" buffers
    down: torch.Tensor
    codes: torch.Tensor  # "nf4" buffers
    absmax: torch.Tensor
    table: torch.Tensor

    def __init__(self, fmt: str, tensors: dict[str, torch.Tensor], width: int, dtype: torch.dtype,
                 hidden: int) -> None:
        super().__init__()
        if fmt not in ("nf4", "dense"):
            raise ValueError(f"unknown stacked expert format {fmt!r}")
        self.format, self.width, self.hidden, self.compute_dtype = fmt, width, hidden, dtype
        self.kernel = "torch"
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor, persistent=False)
        if fmt == "nf4":
            self.register_buffer("table", pair_table(dtype, tensors["codes"].device), persistent=False)

    @property
    def num_experts(self) -> int:
        return (self.codes if self.format == "nf4" else self.gate_up).shape[0]

    @property
    def gate_up_codes(self) -> torch.Tensor:
        """[E, 2I, H/2] view of `codes`."""
        return self.codes[:, : self.width * self.hidden].view(-1, 2 * self.width, self.hidden // 2)

    @property
    def down_codes(self) -> torch.Tensor:
        """[E, H, I/2] view of `codes`."""
        return self.codes[:, self.width * self.hidden :].view(-1, self.hidden, self.width // 2)

    @property
    def gate_up_absmax(self) -> torch.Tensor:
        """[E, 2I, H/64] view of `absmax`."""
        groups = 2 * self.width * self.hidden // GROUP
        return self.absmax[:, :groups].view(-1, 2 * self.width, self.hidden // GROUP)

    @property
    def down_absmax(self) -> torch.Tensor:
        """[E, H, I/64] view of `absmax`."""
        groups = 2 * self.width * self.hidden // GROUP
        return self.absmax[:, groups:].view(-1, self.hidden, self.width // GROUP)

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

    def _gathered(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor,
                  shared: torch.Tensor | None) -> torch.Tensor:
        """Every token's K experts at once; 9 ops (dense) or 12 (nf4) for the whole layer."""
        tokens, top_k = expert_ids.shape
        slots = tokens * top_k
        ids = expert_ids.reshape(-1)  # [S], token-major
        x = flat.to(self.compute_dtype)
        gate_up, down = self._gather(ids)  # [S, 2I, H], [S, H, I]
        # Row-vector products (x^T W^T): CPU BLAS runs this form several times faster than W @ x.
        x_slots = x.unsqueeze(1).expand(tokens, top_k, x.shape[-1]).reshape(slots, 1, -1)  # [S, 1, H]
        projected = torch.bmm(x_slots, gate_up.transpose(1, 2)).view(tokens, top_k, 2, self.width)
        hidden = F.silu(projected[:, :, 0]) * projected[:, :, 1]  # [N, K, I]
        out = torch.bmm(hidden.reshape(slots, 1, self.width), down.transpose(1, 2))  # [S, 1, H]
        mix = weights.to(out.dtype).view(tokens, 1, top_k)
        if shared is None:
            mixed = torch.bmm(mix, out.view(tokens, top_k, -1))  # [N, 1, H]
        else:  # shared + weighted sum of the K outputs, one op
            mixed = torch.baddbmm(shared.to(out.dtype).view(tokens, 1, -1), mix, out.view(tokens, top_k, -1))
        return mixed.view(tokens, -1).to(flat.dtype)

    def _gather(self, ids: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [S] (or a slice of experts) -> (gate_up [S, 2I, H], down [S, H, I]) in the compute dtype,
        gathered on the device: nf4 takes each selected expert's one row of codes and of absmax and
        dequantizes both at once."""
        if self.format == "dense":
            return _take(self.gate_up, ids), _take(self.down, ids)
        both = dequantize_nf4(_take_bytes(self.codes, ids), _take(self.absmax, ids), self.table)
        split = 2 * self.width * self.hidden  # [S, 2IH + HI]: gate_up then down
        return (both[:, :split].view(-1, 2 * self.width, self.hidden),
                both[:, split:].view(-1, self.hidden, self.width))

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
            gate_up, down = (weight[0] for weight in self._gather(slice(expert, expert + 1)))
            projected = x.index_select(0, tokens) @ gate_up.T  # [n, 2I]
            hidden = F.silu(projected[:, : self.width]) * projected[:, self.width :]
            out = (hidden @ down.T).to(torch.float32) * slot_weight[start : start + count, None]
            output.index_add_(0, tokens, out)
            start += count
        return output.to(flat.dtype)


def _take(stacked: torch.Tensor, ids: torch.Tensor | slice) -> torch.Tensor:
    """Rows of the expert dimension: a device-side gather for an id tensor, a view for a slice."""
    return stacked[ids] if isinstance(ids, slice) else stacked.index_select(0, ids)


def _take_bytes(codes: torch.Tensor, ids: torch.Tensor | slice) -> torch.Tensor:
    """_take for a uint8 [E, B] buffer: rows copied as int64 words when B allows (the same single
    index_select, ≈6× faster on CPU than byte by byte)."""
    if isinstance(ids, slice) or codes.shape[-1] % 8 or codes.storage_offset() % 8 or not codes.is_contiguous():
        return _take(codes, ids)
    return codes.view(torch.int64).index_select(0, ids).view(torch.uint8)
