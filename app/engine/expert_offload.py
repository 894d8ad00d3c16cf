"""Loading an MoE checkpoint whose routed experts do not all fit the accelerator (A5.7B on 16 GB).

accelerate would offload whole decoder layers, and transformers' bitsandbytes quantizer leaves the
offloaded layers unquantized, so such a model could not really run. Instead, at load:
  1. `plan_expert_offload`: from the memory estimate of the real config, how many routed experts per
     layer fit next to everything else in the accelerator's budget (free memory, or --gpu-memory);
     None when everything fits (the ordinary load) or the model is not an NF4 MoE.
  2. `load_with_expert_offload`: load every weight in NF4 in CPU RAM, stack the experts, split each
     layer (near = on the accelerator, far = in CPU RAM, computed there), move all but the far
     experts (and the input embedding, when it is kept on CPU) to the accelerator, then count which
     experts the router picks on a short calibration text and keep each layer's most-used ones near.
Nothing runs on the CPU copies of the quantized projections before they move (a CPU forward would
repack bitsandbytes' weights for its CPU kernel), which is why calibration runs on the split model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from app.engine.expert_placement import Placement, SplitExperts, place_experts, router_usage, split_for_memory
from app.engine.fused_moe import MoePath, choose_kernel, install_fused_moe, moe_layers
from app.engine.loading import load_model
from app.engine.memory_estimate import GIB

CALIBRATION_TOKENS = 256  # tokens of bundled text the router is run on to rank the experts
CALIBRATION_FOLDER = Path(__file__).with_name("tiny_corpus")
log = logging.getLogger(__name__)


def accelerator_budget(max_gpu_memory_gib: float | None, accelerator: torch.device | None) -> int | None:
    """Bytes the load may use on `accelerator`: the writer's --gpu-memory, else what is free on a CUDA
    device (split_for_memory keeps its own margin); None without an accelerator or when nothing says."""
    if accelerator is None:
        return None
    if max_gpu_memory_gib is not None:
        return int(max_gpu_memory_gib * GIB)
    if accelerator.type == "cuda":
        return int(torch.cuda.mem_get_info(accelerator)[0])
    return None


def plan_expert_offload(config: Any, quantization: str, context: int, kv_bits: int, embed_on_cpu: bool,
                        budget_bytes: int) -> Placement | None:
    """The split for a model whose routed experts do not all fit `budget_bytes` next to the rest (with
    split_for_memory's margin); None when they do, when not even the rest fits (then the ordinary
    path refuses with its advice, or offloads layers under --gpu-memory), or when it is not an MoE
    loaded in NF4."""
    if quantization != "nf4" or not getattr(config, "num_experts", None):
        return None
    placement = split_for_memory(config, quantization, context, kv_bits, budget_bytes, embed_on_cpu=embed_on_cpu)
    return placement if 0 < placement.near_per_layer < placement.experts else None


def load_with_expert_offload(folder: Path, placement: Placement, accelerator: torch.device, *, kv_cache_bits: int,
                             context: int, embed_on_cpu: bool, moe_backend: str = "auto") -> tuple[Any, Any, MoePath]:
    """(model, tokenizer, path): the NF4 model with `placement.near_per_layer` routed experts of each
    layer on `accelerator` and the rest in CPU RAM. moe_backend: "auto", "triton" or "torch" (the
    per-expert path cannot be split)."""
    model, tokenizer = load_model(folder, quantization="nf4", device_map={"": "cpu"}, embed_on_cpu=embed_on_cpu,
                                  kv_cache_bits=kv_cache_bits, context_tokens=context, local_files_only=True)
    stacked = install_fused_moe(model, moe_backend)
    if not stacked.name.startswith("fused"):  # e.g. int8 experts: nothing to split, nothing can move
        raise ValueError(f"experts cannot be placed per expert: {stacked.describe()}")
    cpu = torch.device("cpu")
    place_experts(model, placement.near_per_layer, cpu)
    move_except_far_experts(model, accelerator, embed_on_cpu)
    usage = router_usage(model, calibration_ids(tokenizer, accelerator))
    keep_most_used_near(model, placement.near_per_layer, usage, accelerator)
    kernel, note = choose_kernel(moe_backend, accelerator)
    set_near_kernel(model, kernel)
    detail = f"nf4 stacked experts; {placement.describe()}" + (f"; {note}" if note else "")
    log.info("MoE: fused-%s (%s)", kernel, detail)
    return model, tokenizer, MoePath(f"fused-{kernel}", detail)


def move_except_far_experts(model: Any, accelerator: torch.device, embed_on_cpu: bool) -> None:
    """Everything but the far experts (unregistered, so `.to` skips them) and, when asked, the input
    embedding onto `accelerator`, one top-level part at a time."""
    body = model.model
    for name, child in body.named_children():
        if name == "embed_tokens" and embed_on_cpu:
            continue
        child.to(accelerator)
    model.lm_head.to(accelerator)


def calibration_ids(tokenizer: Any, device: torch.device) -> torch.Tensor:
    """[1, T] token ids of the bundled zh + en text, T <= CALIBRATION_TOKENS (half of each)."""
    ids: list[int] = []
    for name in ("zh.txt", "en.txt"):
        text = (CALIBRATION_FOLDER / name).read_text(encoding="utf-8")
        ids += tokenizer.encode(text, add_special_tokens=False)[: CALIBRATION_TOKENS // 2]
    return torch.tensor([ids], dtype=torch.long, device=device)


def keep_most_used_near(model: Any, near_per_layer: int, usage: torch.Tensor, accelerator: torch.device) -> None:
    """Re-split every layer so its `near_per_layer` most-used experts (usage [L, E]) are the near ones.
    One layer at a time: the old near part is freed before the new one moves."""
    cpu = torch.device("cpu")
    for index, layer in enumerate(moe_layers(model)):
        split = layer.stacked
        if not isinstance(split, SplitExperts):
            continue
        merged = split.merged(cpu)
        order = torch.argsort(usage[index], descending=True, stable=True)
        near = torch.sort(order[:near_per_layer]).values
        layer.stacked = None
        del split
        layer.stacked = SplitExperts(merged, near, cpu).to(accelerator)


def set_near_kernel(model: Any, kernel: str) -> None:
    for layer in moe_layers(model):
        part = layer.stacked.near if isinstance(layer.stacked, SplitExperts) else layer.stacked
        part.kernel = kernel
        layer.stacked.kernel = kernel
