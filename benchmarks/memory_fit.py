"""Will XVERSE-Ent fit a 16 GB card? Prints the memory table for the A4.2B and A5.7B shapes (each
component at each quantization, KV cache at 2K/4K/8K in bf16 and int8) and, on a CUDA machine,
builds the full-size A4.2B with random NF4 weights, runs 8K tokens of context through it with the
options Inkstone ships for 16 GB (nf4, int8 KV cache, input embedding on CPU) and reports the peak.

Usage: python benchmarks/memory_fit.py [--a5-config path/to/config.json] [--no-gpu]
The LAST line is one JSON object: a4_2b_nf4_8k_estimate_gib, and on GPU a4_2b_nf4_8k_peak_gib_measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.kv_cache import Int8KVCache  # noqa: E402
from app.engine.memory_estimate import GIB, estimate_memory, kv_cache_bytes, weight_bytes  # noqa: E402
from app.engine.xverse import XverseConfig, XverseForCausalLM  # noqa: E402

# DESIGN §3: XVERSE-Ent-A4.2B (= XVERSE-MoE-A4.2B shape), facts from the public config.
A4_2B = {"vocab_size": 100534, "hidden_size": 2560, "intermediate_size": 1728, "num_hidden_layers": 28,
         "num_attention_heads": 32, "num_key_value_heads": 32, "num_experts": 64, "moe_top_k": 6,
         "num_shared_experts": 2, "max_position_embeddings": 8192}
# ASSUMPTION (used only when no --a5-config is given): the public facts are 32 layers, hidden 3072,
# 32 heads, 2 shared + 64 routed experts, 128K vocab. Guessed: expert width 1728 and top-6 (as A4.2B;
# with them the activated parameters come to ~5.7B counting lm_head) and no GQA.
A5_7B_ASSUMED = {"vocab_size": 128000, "hidden_size": 3072, "intermediate_size": 1728, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 32, "num_experts": 64, "moe_top_k": 6,
                 "num_shared_experts": 2, "max_position_embeddings": 8192}
QUANTS = ("bf16", "int8", "nf4")
CONTEXTS = (2048, 4096, 8192)
PREFILL_CHUNK = 2048  # the engine's default prefill chunk


def print_table(title: str, config: dict) -> None:
    """Component x quantization (GiB), then KV cache sizes and the two 8K totals that matter."""
    print(f"\n== {title} ==")
    sizes = {q: weight_bytes(config, q) for q in QUANTS}
    print(f"{'component':<16}" + "".join(f"{q:>10}" for q in QUANTS))
    for name in sizes["bf16"]:
        print(f"{name:<16}" + "".join(f"{sizes[q][name] / GIB:>10.3f}" for q in QUANTS))
    print(f"{'weights total':<16}" + "".join(f"{sum(sizes[q].values()) / GIB:>10.3f}" for q in QUANTS))
    for bits, label in ((16, "bf16"), (8, "int8")):
        row = "  ".join(f"{tokens // 1024}K {kv_cache_bytes(config, tokens, bits) / GIB:.3f}" for tokens in CONTEXTS)
        print(f"KV cache {label:<5} {row} GiB")
    plain = estimate_memory(config, "nf4", 8192, 16)["total"] / GIB
    shipped = estimate_memory(config, "nf4", 8192, 8, embed_on_cpu=True)["total"] / GIB
    print(f"nf4 + bf16 KV @8K: {plain:.2f} GiB | nf4 + int8 KV @8K + embedding on CPU: {shipped:.2f} GiB")


def load_a5_config(path: str | None) -> tuple[str, dict]:
    if path is None:
        return "XVERSE-Ent-A5.7B (ASSUMED shape: expert width 1728, top-6, 32 KV heads)", A5_7B_ASSUMED
    config_path = Path(path)
    config_path = config_path / "config.json" if config_path.is_dir() else config_path
    return f"XVERSE-Ent-A5.7B (from {config_path})", json.loads(config_path.read_text(encoding="utf-8"))


def random_nf4_linear(layer: nn.Linear, device: torch.device) -> nn.Module:
    """A bitsandbytes NF4 Linear (double quant, bf16 compute) holding random weights on `device`."""
    import bitsandbytes as bnb

    quantized = bnb.nn.Linear4bit(layer.in_features, layer.out_features, bias=False, compute_dtype=torch.bfloat16,
                                  compress_statistics=True, quant_type="nf4", device="meta")
    weight = torch.randn(layer.out_features, layer.in_features, dtype=torch.bfloat16, device=device) * 0.02
    quantized.weight = bnb.nn.Params4bit(weight, requires_grad=False, blocksize=64, compress_statistics=True,
                                         quant_type="nf4", module=quantized).to(device)  # quantizes here
    return quantized


def build_random_a4_2b(device: torch.device) -> XverseForCausalLM:
    """Full-size A4.2B on the meta device, then quantized layer by layer (never whole in bf16)."""
    with torch.device("meta"):
        model = XverseForCausalLM(XverseConfig(**A4_2B))
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and name not in ("router", "lm_head"):
                setattr(module, name, random_nf4_linear(child, device))
    for module_name, module in model.named_modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if param.is_meta:
                on_cpu = module_name == "model.embed_tokens"  # shipped default: embedding in CPU RAM
                dtype = torch.float32 if name == "weight" and module_name.endswith("router") else torch.bfloat16
                data = torch.randn(param.shape, dtype=dtype, device="cpu" if on_cpu else device) * 0.02
                if module_name.endswith("norm"):
                    data = torch.ones_like(data)
                setattr(module, name, nn.Parameter(data, requires_grad=False))
    model.config.kv_cache_bits = 8
    return model.eval()


@torch.no_grad()
def measure_peak_gib(context_tokens: int = 8192) -> float:
    """Peak CUDA memory (GiB) to hold A4.2B NF4 and prefill `context_tokens`, then decode 8 tokens."""
    device = torch.device("cuda", 0)
    torch.cuda.reset_peak_memory_stats(device)
    model = build_random_a4_2b(device)
    weights_gib = torch.cuda.memory_allocated(device) / GIB
    ids = torch.randint(6, A4_2B["vocab_size"], (1, context_tokens))
    cache = Int8KVCache()
    for start in range(0, context_tokens, PREFILL_CHUNK):
        out = model(ids[:, start : start + PREFILL_CHUNK], past_key_values=cache, logits_to_keep=1)
    for _ in range(8):
        out = model(out.logits[:, -1].argmax(-1, keepdim=True), past_key_values=cache)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) / GIB
    name = torch.cuda.get_device_name(device)
    print(f"\nGPU {name}: weights {weights_gib:.2f} GiB, cache {cache.get_seq_length()} "
          f"tokens, peak allocated {peak:.2f} GiB, peak reserved {torch.cuda.max_memory_reserved(device) / GIB:.2f} GiB")
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a5-config", help="config.json (or its folder) of XVERSE-Ent-A5.7B")
    parser.add_argument("--no-gpu", action="store_true", help="skip the CUDA measurement")
    args = parser.parse_args()
    print_table("XVERSE-Ent-A4.2B (DESIGN §3 shape)", A4_2B)
    print_table(*load_a5_config(args.a5_config))
    estimate = estimate_memory(A4_2B, "nf4", 8192, 8, embed_on_cpu=True)["total"] / GIB
    result = {"a4_2b_nf4_8k_estimate_gib": round(estimate, 3)}
    if torch.cuda.is_available() and not args.no_gpu:
        result["a4_2b_nf4_8k_peak_gib_measured"] = round(measure_peak_gib(8192), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
