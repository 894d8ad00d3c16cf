"""Peak-memory estimate of a QLoRA fine-tune (NF4 base + LoRA adapters) before it starts.

Pure arithmetic over a config dict or object (no tensors). Parts, all on the GPU:
- base weights in NF4 with double quant (router fp32; lm_head 16-bit; the embedding in CPU RAM
  when `embed_on_cpu`), from app.engine.memory_estimate.weight_bytes;
- LoRA parameters in fp32 + their fp32 gradients + paged 8-bit AdamW state (2 bytes/param);
- activations under gradient checkpointing at decoder-layer boundaries: one bf16 [T, H] input
  saved per layer, plus one layer recomputed during backward (q/k/v/attn-out, SDPA without a
  T x T matrix, the top-k routed and the shared SwiGLU intermediates, one dequantized expert), x2
  for their gradients;
- the loss computed in chunks of `loss_chunk` tokens: [chunk, V] logits in fp32 + their gradient
  + the bf16 copy;
- a fixed CUDA context / allocator reserve and a fragmentation margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine.memory_estimate import GIB, weight_bytes

CUDA_CONTEXT_BYTES = int(0.6 * GIB)
FRAGMENTATION = 0.08  # allocator slack on top of everything else
ATTENTION_TARGETS = 4  # q, k, v, o
SWIGLU_TARGETS = 3  # gate, up, down


@dataclass(frozen=True)
class QloraPlan:
    seq_len: int
    rank: int = 16
    batch: int = 1
    include_routed: bool = False
    loss_chunk: int = 256
    embed_on_cpu: bool = True


def _get(config: Any, key: str, default: Any = None) -> Any:
    return config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)


def lora_parameters(config: Any, rank: int, include_routed: bool) -> int:
    """LoRA A+B parameters on attention + shared experts (+ every routed expert if asked)."""
    hidden, layers = _get(config, "hidden_size"), _get(config, "num_hidden_layers")
    width = _get(config, "intermediate_size")
    shared_width = width * (_get(config, "num_shared_experts") or 0)
    per_layer = ATTENTION_TARGETS * rank * (hidden + hidden)
    per_layer += SWIGLU_TARGETS * rank * (hidden + shared_width)
    if include_routed:
        per_layer += (_get(config, "num_experts") or 0) * SWIGLU_TARGETS * rank * (hidden + width)
    return layers * per_layer


def activation_bytes(config: Any, plan: QloraPlan) -> int:
    """Checkpointed layer inputs + one recomputed layer's activations and their gradients."""
    hidden, layers = _get(config, "hidden_size"), _get(config, "num_hidden_layers")
    width, top_k = _get(config, "intermediate_size"), _get(config, "moe_top_k") or 0
    shared_width = width * (_get(config, "num_shared_experts") or 0)
    tokens = plan.seq_len * plan.batch
    saved_inputs = layers * tokens * hidden * 2
    attention = 6 * tokens * hidden * 2  # norm out, q, k, v, attention out, o_proj out
    routed = tokens * top_k * (3 * width + 2 * hidden) * 2  # gathered inputs, gate/up/act, outputs
    shared = tokens * 3 * shared_width * 2
    one_expert = hidden * width * 2 * 3  # a dequantized bf16 expert during backward
    return saved_inputs + 2 * (attention + routed + shared) + one_expert


def qlora_peak_bytes(config: Any, plan: QloraPlan) -> dict[str, int]:
    """Bytes per part and "total" for a QLoRA step at plan.seq_len."""
    weights = weight_bytes(config, "nf4")
    if plan.embed_on_cpu:
        weights["embedding"] = 0
    lora = lora_parameters(config, plan.rank, plan.include_routed)
    vocab = _get(config, "vocab_size")
    chunk = min(plan.loss_chunk, plan.seq_len) * plan.batch
    parts = {
        "base_weights": sum(weights.values()),
        "lora_weights_grads": lora * (4 + 4),
        "optimizer_paged_8bit": lora * 2,
        "activations": activation_bytes(config, plan),
        "loss_logits": chunk * vocab * (4 + 4 + 2),
        "cuda_context": CUDA_CONTEXT_BYTES,
    }
    subtotal = sum(parts.values())
    parts["fragmentation"] = int(subtotal * FRAGMENTATION)
    parts["total"] = subtotal + parts["fragmentation"]
    return parts
