"""Test helper: bitsandbytes NF4 layers built like the loader builds them, in fp32 compute."""

from __future__ import annotations

import bitsandbytes as bnb
import torch
from torch import nn


def nf4_linear(linear: nn.Linear, compute_dtype: torch.dtype) -> nn.Module:
    """A bitsandbytes NF4 Linear4bit (double quant) holding `linear`'s weights."""
    quantized = bnb.nn.Linear4bit(linear.in_features, linear.out_features, bias=False, compute_dtype=compute_dtype,
                                  compress_statistics=True, quant_type="nf4")
    quantized.weight = bnb.nn.Params4bit(linear.weight.data.clone(), requires_grad=False, blocksize=64,
                                         compress_statistics=True, quant_type="nf4", module=quantized).to("cpu")
    # bitsandbytes' AVX512-BF16 CPU kernel would repack the weight with bf16 absmax at the first forward;
    # keep its exact fp32 path so the two implementations are compared on the same numbers.
    quantized.support_avx512bf16_for_cpu = False
    return quantized


def quantize_like_the_loader(model: nn.Module) -> nn.Module:
    """Every projection but router and lm_head in NF4 with fp32 compute (the loader's layout in fp32)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear and name not in ("router", "lm_head"):
                setattr(module, name, nf4_linear(child, torch.float32))
    return model
