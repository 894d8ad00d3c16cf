"""Feed-forward blocks of XVERSE: the SwiGLU MLP (dense models, each expert, the shared experts)
and the routed mixture of experts with its fp32 router.

Every expert is its own `nn.Linear` trio named like the checkpoint
(`experts.{e}.gate_proj/up_proj/down_proj`) so bitsandbytes can quantize each one.

Dispatch choice: tokens are sorted by selected expert and only experts that received tokens run.
That needs the per-expert token counts on the host, read with ONE `.tolist()` per layer per step
(never per expert or per token). A single token (batch-1 decode) reads its k expert ids instead
and calls those k experts directly, skipping the sort/gather/scatter kernels. A fully sync-free alternative would run every expert on every
token (E/k times the weight traffic: ~10x for A4.2B), which loses badly on a memory-bound decode,
and gathering the selected experts' weights on device is impossible with bitsandbytes layers.

Shapes: N = B*T flattened tokens, H hidden, E experts, K = top-k, I expert width.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from app.engine.xverse.configuration import XverseConfig


class XverseMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)); [.., H] -> [.., H]."""

    def __init__(self, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def route(
    hidden: torch.Tensor, router_weight: torch.Tensor, top_k: int, renormalize: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """hidden [N, H], router_weight [E, H] -> (weights [N, K] fp32, expert ids [N, K] int64).

    fp32 logits -> softmax over ALL experts -> top-k -> optionally renormalize the k weights to 1.
    """
    logits = F.linear(hidden.to(torch.float32), router_weight.to(torch.float32))  # [N, E]
    probs = logits.softmax(dim=-1)
    weights, expert_ids = probs.topk(top_k, dim=-1)  # [N, K]
    if renormalize:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights, expert_ids


class XverseMoE(nn.Module):
    """Routed experts (top-k of E) plus the shared experts (one SwiGLU, no gate) added on top."""

    def __init__(self, config: XverseConfig) -> None:
        super().__init__()
        hidden, width = config.hidden_size, config.intermediate_size
        num_experts, top_k = config.num_experts, config.moe_top_k
        if num_experts is None or top_k is None:
            raise ValueError("an MoE layer needs num_experts and moe_top_k in its config")
        self.top_k: int = top_k
        self.renormalize = config.norm_topk_prob
        self.router = nn.Linear(hidden, num_experts, bias=False)
        self.experts = nn.ModuleList(XverseMLP(hidden, width) for _ in range(num_experts))
        shared = config.num_shared_experts or 0
        self.shared_experts = XverseMLP(hidden, width * shared) if shared else None

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """hidden_states [B, T, H] -> [B, T, H]."""
        shape = hidden_states.shape
        flat = hidden_states.reshape(-1, shape[-1])  # [N, H]
        weights, expert_ids = route(flat, self.router.weight, self.top_k, self.renormalize)
        routed = self._dispatch(flat, weights, expert_ids)
        if self.shared_experts is not None:
            routed = routed + self.shared_experts(flat)
        return routed.reshape(shape)

    def _dispatch(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor) -> torch.Tensor:
        """Run each selected expert once on the tokens routed to it; weighted sum into [N, H]."""
        if flat.shape[0] == 1:
            return self._dispatch_one_token(flat, weights, expert_ids)
        slot_expert = expert_ids.reshape(-1)  # [N*K]
        order = slot_expert.argsort(stable=True)  # slots grouped by expert
        token_of_slot = order // self.top_k  # [N*K] source token of each sorted slot
        slot_weight = weights.reshape(-1)[order]  # [N*K] fp32
        counts = torch.bincount(slot_expert, minlength=len(self.experts)).tolist()  # one sync
        output = torch.zeros_like(flat, dtype=torch.float32)  # [N, H] fp32 accumulator
        start = 0
        for expert, count in zip(self.experts, counts):
            if count:
                tokens = token_of_slot[start : start + count]  # [n]
                expert_out = expert(flat.index_select(0, tokens))  # [n, H]
                scale = slot_weight[start : start + count, None]  # [n, 1]
                output.index_add_(0, tokens, expert_out.to(torch.float32) * scale)
                start += count
        return output.to(flat.dtype)

    def _dispatch_one_token(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor) -> torch.Tensor:
        """Batch-1 decode: read the k expert ids once (one sync) and call just those k experts.

        Skips the sort / gather / scatter kernels of the general path; flat [1, H], weights [1, K].
        """
        output = torch.zeros_like(flat, dtype=torch.float32)  # [1, H]
        for slot, expert_id in enumerate(expert_ids[0].tolist()):
            output += self.experts[expert_id](flat).to(torch.float32) * weights[0, slot]
        return output.to(flat.dtype)
