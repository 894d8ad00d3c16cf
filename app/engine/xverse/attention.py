"""Attention block of XVERSE: fp32 RMSNorm, rotary embeddings (rotate_half, optional dynamic NTK),
the causal/padding mask for left-padded batches, and SDPA self-attention over a transformers Cache.

Shapes: B batch, T new tokens, S = past + T key positions, N heads, D head_dim, H hidden.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from transformers.cache_utils import Cache

from app.engine.kv_cache import Int8KVCache
from app.engine.static_cache import StaticKVCache
from app.engine.xverse.configuration import XverseConfig
from app.engine.int8_attention import MAX_QUERY, attend_int8
from app.engine.shared_prefix import SharedPrefixCache


class XverseRMSNorm(nn.Module):
    """RMSNorm computed in fp32 and cast back to the input dtype (as the official code):
    weight * x / sqrt(mean(x^2) + eps), one rounding to the input dtype at the end."""

    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps
        self._eps_by_device: dict[torch.device, torch.Tensor] = {}  # not a buffer: see XverseRotary

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """[.., H] -> [.., H]. 5 ops in inference (8 as plainly written): mean(x^2) is |x|^2 / H from
        one fp32 norm reduction, eps is added in the same op, and the last product writes the input
        dtype directly; the fp32 upcasts happen inside the ops (type promotion)."""
        width = hidden_states.shape[-1]
        norm = torch.linalg.vector_norm(hidden_states, dim=-1, keepdim=True, dtype=torch.float32)  # [.., 1]
        inverse_rms = torch.addcmul(self._eps(norm.device), norm, norm, value=1.0 / width).rsqrt()
        scaled = hidden_states * inverse_rms  # fp32
        if torch.is_grad_enabled() and (scaled.requires_grad or self.weight.requires_grad):
            return (self.weight * scaled).to(hidden_states.dtype)  # out= does not differentiate
        return torch.mul(self.weight, scaled, out=torch.empty_like(hidden_states))

    def _eps(self, device: torch.device) -> torch.Tensor:
        """[1] fp32 eps on `device`, made once per device (so a captured graph reads no new tensor)."""
        eps = self._eps_by_device.get(device)
        if eps is None:
            eps = self._eps_by_device[device] = torch.full((1,), self.variance_epsilon, device=device)
        return eps


class XverseRotary(nn.Module):
    """cos/sin tables for rotate_half RoPE, computed from config on every call.

    Deliberately holds no buffer: nothing here can come out uninitialised after meta-device loading
    (the bug of the official remote code on transformers 5). inv_freq has D/2 entries, so recomputing
    it per forward costs nothing next to the projections. `ntk_factor` (dynamic NTK) comes from the
    checkpoint's rope_scaling, or is set by the loader when the context exceeds the trained length.
    """

    def __init__(self, config: XverseConfig) -> None:
        super().__init__()
        self.head_dim = config.head_dim
        self.base = config.rope_theta
        self.max_positions = config.max_position_embeddings
        self.ntk_factor = config.ntk_factor

    def inv_freq(self, seq_len: int | torch.Tensor, device: torch.device) -> torch.Tensor:
        """[D/2] fp32 inverse frequencies; dynamic NTK raises the base only past max_positions.

        seq_len is a host int, or a 0-d device tensor (static-cache decode): then the stretch is
        computed on the device, clamped at 1 below the trained length, with no host read.
        """
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device) / self.head_dim
        power = self.head_dim / (self.head_dim - 2)
        if self.ntk_factor is None:
            return 1.0 / (self.base**exponents)
        if isinstance(seq_len, torch.Tensor):
            stretch = (self.ntk_factor * seq_len.to(torch.float32) / self.max_positions - (self.ntk_factor - 1))
            stretched = self.base * stretch.clamp(min=1.0) ** power
            return 1.0 / (stretched**exponents)
        base = float(self.base)
        if seq_len > self.max_positions:
            base = base * (self.ntk_factor * seq_len / self.max_positions - (self.ntk_factor - 1)) ** power
        return 1.0 / (base**exponents)

    def forward(
        self, position_ids: torch.Tensor, dtype: torch.dtype, seq_len: int | torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """position_ids [B, T] -> (cos, sin) each [B, T, D] in `dtype`.

        seq_len (keys after this step) decides dynamic NTK; when omitted it is read from the
        positions, which costs a host sync, so the model always passes it.
        """
        if seq_len is None:
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


def signed_sin(sin: torch.Tensor) -> torch.Tensor:
    """sin [B, T, D] -> (-sin1, sin2): with it, rotate_half(x) * sin == x.roll(D/2) * signed_sin."""
    half = sin.shape[-1] // 2
    return torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)


def apply_rotary_rolled(x: torch.Tensor, cos: torch.Tensor, sin_signed: torch.Tensor) -> torch.Tensor:
    """apply_rotary in 3 ops instead of 5 (roll replaces neg + cat; the second product and the sum are
    one addcmul, rounded once); x [B, N, T, D], tables [B, 1, T, D]."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin_signed)


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
    """Multi-head self-attention (no bias) with RoPE, a KV cache and SDPA.

    q/k/v are separate Linears as in the checkpoint; `fuse_projections` (app.engine.fusion) may
    replace them at load with one `qkv_proj` whose output rows are [q; k; v]. An int8 cache
    (Int8KVCache) is read in place for decode-sized queries (int8_attention).
    """

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
        self.qkv_proj: nn.Module | None = None

    def forward(
        self,
        hidden_states: torch.Tensor,
        rotary: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: Cache | StaticKVCache | SharedPrefixCache | None,
    ) -> torch.Tensor:
        """hidden_states [B, T, H] -> [B, T, H]; appends this step's K/V to `cache`.

        rotary: (cos, signed sin) [B, 1, T, D] from XverseModel (see apply_rotary_rolled).
        """
        batch, length, _ = hidden_states.shape
        query_key, value = self._project(hidden_states)
        rotated = apply_rotary_rolled(query_key, *rotary)  # [B, Nq + Nkv, T, D]
        query, key = rotated[:, : self.num_heads], rotated[:, self.num_heads :]
        if isinstance(cache, SharedPrefixCache):  # branches of one prompt: the prompt read once
            attended = cache.attend(self.layer_idx, query, key, value)
        elif isinstance(cache, StaticKVCache):  # captured decode step: one token per row
            cache.write(self.layer_idx, key, value)
            attended = cache.attend(self.layer_idx, query, self.num_kv_heads != self.num_heads)
        elif isinstance(cache, Int8KVCache) and length <= MAX_QUERY:
            layer = cache.layer(self.layer_idx)
            layer.append(key, value)
            attended = attend_int8(query, (layer.keys, layer.values), (layer.key_scales, layer.value_scales), mask)
        else:
            attended = self._sdpa(query, key, value, mask, cache, length)
        return self.o_proj(attended.transpose(1, 2).reshape(batch, length, -1))

    def _project(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, T, H] -> (query and key heads [B, Nq + Nkv, T, D], value heads [B, Nkv, T, D])."""
        batch, length, _ = hidden_states.shape
        if self.qkv_proj is not None:
            heads = self.num_heads + 2 * self.num_kv_heads
            fused = self.qkv_proj(hidden_states).view(batch, length, heads, self.head_dim).transpose(1, 2)
            split = self.num_heads + self.num_kv_heads
            return fused[:, :split], fused[:, split:]  # views of one projection
        query = self.q_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        key = self.k_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        value = self.v_proj(hidden_states).view(batch, length, -1, self.head_dim).transpose(1, 2)
        return torch.cat((query, key), dim=1), value

    def _sdpa(self, query, key, value, mask, cache, length) -> torch.Tensor:
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx)  # [B, N, S, D]
        if key.dtype != query.dtype:
            key, value = key.to(query.dtype), value.to(query.dtype)
        is_causal = mask is None and length > 1
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, is_causal=is_causal,
            enable_gqa=self.num_kv_heads != self.num_heads,
        )  # [B, N, T, D]
