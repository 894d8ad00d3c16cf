"""Perplexity of a causal LM on a token stream, by the sliding-window method.

Method (the one the Hugging Face perplexity guide describes): windows of `window` tokens advance
by `stride`; each window scores only the tokens not scored by an earlier window, so every token
after the first is scored exactly once, with at least `window - stride` tokens of context (all
earlier tokens inside the first window). Perplexity = exp(total negative log-likelihood / tokens
scored). The window defaults to the model's context; tokenization is the model's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class PerplexityResult:
    perplexity: float
    tokens: int
    window: int
    stride: int

    @property
    def method(self) -> str:
        return f"sliding window {self.window} tokens, stride {self.stride}, each token scored once"


@torch.no_grad()
def perplexity(model: nn.Module, ids: torch.Tensor, window: int, stride: int | None = None) -> PerplexityResult:
    """ids [L] int64 -> perplexity over tokens 1..L-1 (token 0 has no context and is not scored)."""
    stride = stride or max(1, window // 2)
    if not 0 < stride <= window:
        raise ValueError(f"stride {stride} must be in 1..window ({window})")
    if ids.numel() < 2:
        raise ValueError("need at least two tokens to measure perplexity")
    was_training = model.training
    model.eval()
    total_nll, scored, end_scored = 0.0, 0, 1  # tokens [1, end_scored) are already scored
    begin = 0
    while end_scored < ids.numel():
        end = min(begin + window, ids.numel())
        chunk = ids[begin:end][None]  # [1, W]
        logits = model(input_ids=chunk[:, :-1], use_cache=False).logits.float()  # [1, W-1, V]
        first_new = end_scored - begin - 1  # position in logits predicting token end_scored
        nll = F.cross_entropy(logits[0, first_new:], chunk[0, first_new + 1 :], reduction="sum")
        total_nll += float(nll)
        scored += end - end_scored
        end_scored = end
        begin += stride
    model.train(was_training)
    return PerplexityResult(math.exp(total_nll / scored), scored, window, stride)
