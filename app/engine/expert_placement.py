"""Expert-level placement: the most-used routed experts of each layer on the accelerator, the rest in
CPU RAM and computed there for the tokens routed to them (llama.cpp's --n-cpu-moe idea, per expert).

`split_for_memory` picks how many experts per layer stay on the accelerator from free memory and
the memory estimate (read from the real config.json); `router_usage` counts how often each expert
is chosen on calibration text; `place_experts` replaces each layer's StackedExperts by a
`SplitExperts` holding two StackedExperts. The near part runs sync-free as before; the far part
needs its slots on the far device's host (a CPU computing them must read them anyway), so an
offloaded layer costs one device-to-host read per step. Attention, shared experts, router and
lm_head never move. Invariant: the far part is not a registered submodule, so moving the model (or a
layer) to the accelerator moves the near part and the routing buffers only (app.engine.expert_offload
relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.engine.fused_moe import moe_layers
from app.engine.memory_estimate import estimate_memory, weight_bytes
from app.engine.xverse.moe import route
from app.engine.xverse.stacked_experts import StackedExperts

MARGIN_BYTES = 1 << 30  # activations, allocator slack, the CUDA context


@dataclass(frozen=True)
class Placement:
    near_per_layer: int  # routed experts per layer kept on the accelerator
    experts: int

    def describe(self) -> str:
        if self.near_per_layer >= self.experts:
            return "all routed experts on the accelerator"
        return f"{self.near_per_layer} of {self.experts} routed experts per layer on the accelerator, the rest on CPU"


def split_for_memory(config: Any, quantization: str, context: int, kv_bits: int, free_bytes: int,
                     embed_on_cpu: bool = True) -> Placement:
    """How many routed experts per layer fit next to everything else in `free_bytes`."""
    experts, layers = config_value(config, "num_experts"), config_value(config, "num_hidden_layers")
    estimate = estimate_memory(config, quantization, context, kv_bits, embed_on_cpu=embed_on_cpu)
    routed = weight_bytes(config, quantization)["routed_experts"]
    fixed = estimate["total"] - routed + MARGIN_BYTES
    per_expert = routed / (layers * experts)
    near = int(max(0, free_bytes - fixed) // (per_expert * layers))
    return Placement(min(experts, near), experts)


def config_value(config: Any, key: str) -> Any:
    return config[key] if isinstance(config, dict) else getattr(config, key)


@torch.no_grad()
def router_usage(model: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """[L, E] how often each layer's router picks each expert over `input_ids` [1, T]."""
    layers = moe_layers(model)
    counts = torch.zeros(len(layers), layers[0].router.out_features, dtype=torch.long)
    hooks = []
    for index, layer in enumerate(layers):
        def count(module, inputs, index=index):
            hidden = inputs[0].reshape(-1, inputs[0].shape[-1])
            _, chosen = route(hidden, module.router.weight, module.top_k, module.renormalize)
            counts[index] += torch.bincount(chosen.reshape(-1).cpu(), minlength=counts.shape[1])
        hooks.append(layer.register_forward_pre_hook(count))
    try:
        model(input_ids, use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    return counts


def place_experts(model: Any, near_per_layer: int, far_device: torch.device,
                  usage: torch.Tensor | None = None) -> Placement:
    """Keep the `near_per_layer` most-used experts of each layer where they are; move the others to
    `far_device`. usage [L, E] (router_usage); without it the lowest expert ids stay near."""
    layers = moe_layers(model)
    experts = layers[0].stacked.num_experts if layers and layers[0].stacked is not None else 0
    for index, layer in enumerate(layers):
        if layer.stacked is None:
            raise ValueError("place_experts needs stacked experts (install_fused_moe first)")
        order = torch.argsort(usage[index], descending=True, stable=True) if usage is not None else torch.arange(experts)
        near = torch.sort(order[:near_per_layer]).values
        if len(near) < experts:
            layer.stacked = SplitExperts(layer.stacked, near, far_device)
    return Placement(near_per_layer, experts)


class SplitExperts(nn.Module):
    """Experts `near_ids` on their current device, the others on `far_device`; same forward as
    StackedExperts. Buffers: is_far [E] bool and local [E] long (index within its part)."""

    is_far: torch.Tensor
    local: torch.Tensor

    def __init__(self, stacked: StackedExperts, near_ids: torch.Tensor, far_device: torch.device) -> None:
        super().__init__()
        experts = stacked.num_experts
        device = next(iter(stacked.buffers())).device
        is_far = torch.ones(experts, dtype=torch.bool)
        is_far[near_ids] = False
        far_ids = torch.nonzero(is_far).flatten()
        local = torch.zeros(experts, dtype=torch.long)
        local[near_ids], local[far_ids] = torch.arange(len(near_ids)), torch.arange(len(far_ids))
        self.near = subset(stacked, near_ids.to(device), device)
        self.__dict__["far"] = subset(stacked, far_ids.to(device), far_device)  # unregistered: see the module doc
        self.far_device = far_device
        self.register_buffer("is_far", is_far.to(device), persistent=False)
        self.register_buffer("local", local.to(device), persistent=False)
        self.format, self.width, self.kernel = stacked.format, stacked.width, stacked.kernel

    far: StackedExperts

    @property
    def num_experts(self) -> int:
        return int(self.is_far.numel())

    def merged(self, device: torch.device) -> StackedExperts:
        """All E experts again as one StackedExperts on `device`, in expert-id order."""
        is_far = self.is_far.to(device)
        near_ids, far_ids = torch.nonzero(~is_far).flatten(), torch.nonzero(is_far).flatten()
        parts = dict(self.near.named_buffers()), dict(self.far.named_buffers())
        tensors = {}
        for name, near_buffer in parts[0].items():
            if name == "table":
                continue
            whole = near_buffer.new_empty((self.num_experts, *near_buffer.shape[1:]), device=device)
            whole[near_ids], whole[far_ids] = near_buffer.to(device), parts[1][name].to(device)
            tensors[name] = whole
        near = self.near
        merged = StackedExperts(near.format, tensors, near.width, near.compute_dtype, near.hidden)
        merged.kernel = near.kernel
        return merged

    def forward(self, flat: torch.Tensor, weights: torch.Tensor, expert_ids: torch.Tensor,
                shared: torch.Tensor | None = None) -> torch.Tensor:
        far = self.is_far[expert_ids]  # [N, K]
        local = self.local[expert_ids]
        near_out = self.near(flat, weights.masked_fill(far, 0.0), local.masked_fill(far, 0), shared)
        # The far slots only, on the far device (its host reads them: the CPU computes them).
        far_cpu, local_cpu = far.to(self.far_device), local.to(self.far_device)
        tokens, slots = torch.nonzero(far_cpu, as_tuple=True)
        if tokens.numel() == 0:
            return near_out
        x = flat.to(self.far_device).index_select(0, tokens)  # [F, H], one row per far slot
        picked = weights.to(self.far_device)[tokens, slots][:, None]  # [F, 1]
        out = self.far(x, picked, local_cpu[tokens, slots][:, None])  # [F, H], each slot its own "token"
        far_out = torch.zeros(flat.shape, dtype=out.dtype, device=self.far_device).index_add_(0, tokens, out)
        return near_out + far_out.to(near_out.device)


def subset(stacked: StackedExperts, ids: torch.Tensor, device: torch.device) -> StackedExperts:
    """The experts `ids` of `stacked` as their own StackedExperts on `device`."""
    tensors = {name: buffer.index_select(0, ids).to(device) for name, buffer in stacked.named_buffers()
               if name != "table"}
    part = StackedExperts(stacked.format, tensors, stacked.width, stacked.compute_dtype, stacked.hidden)
    part.kernel = stacked.kernel if device.type == "cuda" else "torch"
    return part
