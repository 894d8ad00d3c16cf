"""Attention block of XVERSE: fp32 RMSNorm, rotary embeddings (rotate_half, optional dynamic NTK),
the causal/padding mask for left-padded batches, and SDPA self-attention over a transformers Cache.

Shapes: B batch, T new tokens, S = past + T key positions, N heads, D head_dim, H hidden.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from transformers.cache_utils import Cache

from app.engine.xverse.configuration import XverseConfig


class XverseRMSNorm(nn.Module):
    """RMSNorm computed in fp32 and cast back to the input dtype (as the official code)."""

    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        input_dtype = hidden_states.dtype
        states = hidden_states.to(torch.float32)
        variance = states.pow(2).mean(-1, keepdim=True)
        states = states * torch.rsqrt(variance + self.variance_epsilon)
        return (self.weight.to(torch.float32) * states).to(input_dtype)


class XverseRotary(nn.Module):
    """cos/sin tables for rotate_half RoPE, computed from config on every call.

    Deliberately holds no buffer: nothing here can come out uninitialised after meta-device loading
    (the bug of the official remote code on transformers 5). inv_freq has D/2 entries, so recomputing
    it per forward costs nothing next to the projections.
    """

    def __init__(self, config: XverseConfig) -> None:
        super().__init__()
        self.head_dim = config.head_dim
        self.base = config.rope_theta
        self.max_positions = config.max_position_embeddings
        self.ntk_factor = config.ntk_factor

    def inv_freq(self, seq_len: int, device: torch.device) -> torch.Tensor:
        """[D/2] fp32 inverse frequencies; dynamic NTK raises the base only past max_positions."""
        base = self.base
        if self.ntk_factor is not None and seq_len > self.max_positions:
            stretch = self.ntk_factor * seq_len / self.max_positions - (self.ntk_factor - 1)
            base = base * stretch ** (self.head_dim / (self.head_dim - 2))
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim
        return 1.0 / (base**exponents)

    def forward(self, position_ids: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """position_ids [B, T] -> (cos, sin) each [B, T, D] in `dtype`."""
        seq_len = int(position_ids.max()) + 1 if self.ntk_factor is not None else 0
        inv_freq = self.inv_freq(seq_len, position_ids.device)
        freqs = position_ids[..., None].to(torch.float32) * inv_freq  # [B, T, D/2]
        angles = torch.cat((freqs, freqs), dim=-1)  # [B, T, D]
        return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[..., D] -> [..., D]: (x1, x2) -> (-x2, x1) over the two halves of the last dim."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, N, T, D], cos/sin [B, T, D] -> rotated x [B, N, T, D]."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


def build_attention_mask(
    attention_mask: torch.Tensor | None, past_length: int, query_length: int, device: torch.device
) -> torch.Tensor | None:
    """Boolean mask [B, 1, T, S] (True = may attend), or None when plain causal SDPA suffices.

    attention_mask is the usual 2-D [B, S] padding mask over past + new tokens (1 = real token).
    Every query may always attend to its own position, so the rows of left-padding queries are
    never fully masked (SDPA would return NaN there); real tokens never see padding keys.
    """
    key_length = past_length + query_length
    # No data-dependent check of the padding mask: that would be a host sync on every step.
    padded = attention_mask is not None
    if not padded and (query_length == 1 or past_length == 0):
        return None
    query_pos = torch.arange(past_length, key_length, device=device)[:, None]  # [T, 1]
    key_pos = torch.arange(key_length, device=device)[None, :]  # [1, S]
    allowed = (key_pos <= query_pos)[None, None]  # [1, 1, T, S]
    if attention_mask is not None:  # padded
        keys_real = attention_mask[:, -key_length:].to(torch.bool)[:, None, None, :]  # [B, 1, 1, S]
        allowed = (allowed & keys_real) | (key_pos == query_pos)[None, None]
    return allowed


class XverseAttention(nn.Module):
    """Multi-head self-attention (no bias) with RoPE, a KV cache and SDPA."""

    def __init__(self, config: XverseConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        hidden = config.hidden_size
        self.q_proj = nn.Linear(hidden, self.num_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, hidden, bias=False)

    def forward(
        self,
        hidden_states: torch.Tensor,
        rotary: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: Cache | None,
    ) -> torch.Tensor:
        """hidden_states [B, T, H] -> [B, T, H]; appends this step's K/V to `cache`."""
        batch, length, _ = hidden_states.shape
        query = self.q_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        key = self.k_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        value = self.v_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        cos, sin = rotary
        query, key = apply_rotary(query, cos, sin), apply_rotary(key, cos, sin)  # [B, N, T, D]
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx)  # [B, N, S, D]
        if key.dtype != query.dtype:
            key, value = key.to(query.dtype), value.to(query.dtype)
        is_causal = mask is None and length > 1
        attended = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, is_causal=is_causal,
            enable_gqa=self.num_kv_heads != self.num_heads,
        )  # [B, N, T, D]
        return self.o_proj(attended.transpose(1, 2).reshape(batch, length, -1))
