"""Memory arithmetic for XVERSE checkpoints: bytes of each weight component at each quantization,
KV-cache bytes at a context length and width, and the advice given when something does not fit.

Pure functions over a config (no torch tensors), used by loading.py before a load, by launch to
warn early, and by benchmarks/memory_fit.py to print the table. The advice is a Message (rendered
in the writer's language).
"""

from __future__ import annotations

from typing import Any

from messages import Message

GIB = 1024**3
BNB_BLOCK = 64  # bitsandbytes 4-bit block size (one absmax per 64 weights)
DOUBLE_QUANT_BLOCK = 256  # double quant: absmax bytes quantized to 8 bit, one fp32 scale per 256 blocks

# Bytes per weight of a quantized nn.Linear, scales included.
NF4_BYTES = 0.5 + 1 / BNB_BLOCK + 4 / (BNB_BLOCK * DOUBLE_QUANT_BLOCK)
INT8_BYTES = 1.0  # plus one fp32 scale per output row, added in _linear_bytes
DENSE_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp32": 4.0, "nf4": 2.0, "int8": 2.0}  # unquantized parts
QUANTIZATIONS = ("fp32", "bf16", "fp16", "int8", "nf4")


def _get(config: Any, key: str, default: Any = None) -> Any:
    return config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)


def component_parameters(config: Any) -> dict[str, int]:
    """Parameter counts of each component of the whole model (all layers)."""
    hidden, layers = _get(config, "hidden_size"), _get(config, "num_hidden_layers")
    heads = _get(config, "num_attention_heads")
    kv_heads = _get(config, "num_key_value_heads") or heads
    head_dim = hidden // heads
    vocab, width = _get(config, "vocab_size"), _get(config, "intermediate_size")
    experts = _get(config, "num_experts")
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    counts = {
        "embedding": vocab * hidden,
        "attention": layers * attention,
        "norms": layers * 2 * hidden + hidden,
        "lm_head": vocab * hidden,
    }
    if experts is None:
        counts["mlp"] = layers * 3 * hidden * width
    else:
        shared = _get(config, "num_shared_experts") or 0
        counts["routed_experts"] = layers * experts * 3 * hidden * width
        counts["shared_experts"] = layers * 3 * hidden * width * shared
        counts["router"] = layers * experts * hidden
    return counts


QUANTIZABLE = ("attention", "mlp", "routed_experts", "shared_experts")


def weight_bytes(config: Any, quantization: str) -> dict[str, int]:
    """Bytes of each component under `quantization` (router, embedding, lm_head, norms unquantized)."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}")
    hidden = _get(config, "hidden_size")
    sizes = {}
    for name, count in component_parameters(config).items():
        if name in QUANTIZABLE and quantization == "nf4":
            sizes[name] = int(count * NF4_BYTES)
        elif name in QUANTIZABLE and quantization == "int8":
            sizes[name] = int(count * INT8_BYTES + count / hidden * 4)  # ~one fp32 scale per output row
        elif name == "router":
            sizes[name] = count * 4  # kept in fp32
        elif name == "norms":
            sizes[name] = count * 4
        else:
            sizes[name] = int(count * DENSE_BYTES[quantization])
    return sizes


def kv_cache_bytes(config: Any, context_tokens: int, kv_bits: int = 16, batch: int = 1) -> int:
    """K and V for every layer: 16-bit = 2 bytes/value; 8-bit = 1 byte/value + a 2-byte scale per
    (token, head) for K and for V."""
    layers = _get(config, "num_hidden_layers")
    heads = _get(config, "num_attention_heads")
    kv_heads = _get(config, "num_key_value_heads") or heads
    head_dim = _get(config, "hidden_size") // heads
    per_head_token = head_dim * 2 if kv_bits == 16 else head_dim + 2
    if kv_bits not in (8, 16):
        raise ValueError(f"kv_bits must be 8 or 16, got {kv_bits}")
    return 2 * layers * kv_heads * per_head_token * context_tokens * batch


def estimate_memory(
    config: Any, quantization: str, context_tokens: int, kv_bits: int = 16, *, embed_on_cpu: bool = False
) -> dict[str, int]:
    """Bytes per component on the accelerator, plus "kv_cache", "weights" and "total".

    With embed_on_cpu the embedding is reported as 0 (it lives in CPU RAM) and "embedding_cpu"
    holds its size. Activations are not included (logits for the last position only and chunked
    prefill keep them small next to the KV cache).
    """
    sizes = weight_bytes(config, quantization)
    if embed_on_cpu:
        sizes["embedding_cpu"] = sizes["embedding"]
        sizes["embedding"] = 0
    weights = sum(size for name, size in sizes.items() if name != "embedding_cpu")
    sizes["weights"] = weights
    sizes["kv_cache"] = kv_cache_bytes(config, context_tokens, kv_bits)
    sizes["total"] = weights + sizes["kv_cache"]
    return sizes


def fit_advice(config: Any, estimate: dict[str, int], budget_bytes: int, quantization: str, context: int) -> Message:
    """A message saying the model does not fit `budget_bytes` and which options would (GiB to one decimal)."""
    nf4_option: Message | str = ""
    if quantization != "nf4":
        nf4 = estimate_memory(config, "nf4", context, 8, embed_on_cpu=True)["total"]
        nf4_option = Message("engine.fit_option_nf4", gib=_gib(nf4))
    smaller = _largest_context(config, quantization, budget_bytes, estimate)
    context_option = Message("engine.fit_option_context", tokens=smaller) if smaller else ""
    return Message("engine.does_not_fit", need=_gib(estimate["total"]), quantization=quantization,
                   weights=_gib(estimate["weights"]), context=context, kv=_gib(estimate["kv_cache"]),
                   free=_gib(budget_bytes), nf4_option=nf4_option, context_option=context_option)


def _gib(size: int) -> str:
    return f"{size / GIB:.1f}"


def _largest_context(config: Any, quantization: str, budget_bytes: int, estimate: dict[str, int]) -> int:
    """Tokens of 8-bit KV cache that fit next to the weights, rounded down to 512 (0 if none)."""
    room = budget_bytes - estimate["weights"]
    per_token = kv_cache_bytes(config, 1, 8)
    return max(0, room // per_token // 512 * 512) if room > 0 else 0
