"""Attention that reads an int8 KV cache in place (pure torch; the reference for any fused kernel).

The cache holds codes [B, N, S, D] int8 and one scale per (row, head, token) [B, N, S, 1]. Because the
scale is constant over D, it factors out of both products:
    scores[b,n,t,s] = (q[b,n,t] . codes_k[b,n,s]) * scale_k[b,n,s]
    out[b,n,t]      = sum_s (probs[b,n,t,s] * scale_v[b,n,s]) * codes_v[b,n,s]
so no dequantized K/V tensor (codes x scales) is ever formed. The codes are widened block by block
(`block` keys at a time, online softmax across blocks), so the temporary is one block, never the
whole cache, and no step writes a dequantized copy of the cache. Where Triton runs (CUDA) a decode
step whose key mask is the same for every query goes to app.engine.triton_attention instead, which
reads the codes into registers without widening them in memory; this module stays the reference.

Used for decode-sized queries (T <= MAX_QUERY); a long prefill chunk dequantizes its K/V once per
chunk and runs SDPA instead (compute-bound there; a [T, S] score matrix would not be).
Shapes: B batch, N heads (query heads; GQA repeats KV heads), T queries, S keys, D head_dim.
"""

from __future__ import annotations

import torch

from app.engine import triton_attention

MAX_QUERY = 16  # longest query block read through the in-place path
BLOCK = 4096  # keys widened at a time


def attend_int8(
    query: torch.Tensor,
    codes: tuple[torch.Tensor, torch.Tensor],
    scales: tuple[torch.Tensor, torch.Tensor],
    mask: torch.Tensor | None,
    block: int = BLOCK,
) -> torch.Tensor:
    """query [B, N, T, D]; codes (keys, values) [B, Nkv, S, D] int8; scales [B, Nkv, S, 1];
    mask bool [B or 1, 1, T, S] (True = may attend) or None (every key visible, i.e. T == 1
    or the queries are the last T positions with causal order applied) -> [B, N, T, D] in query's dtype.
    """
    groups = query.shape[1] // codes[0].shape[1]
    if query.shape[2] == 1 and triton_attention.takes_mask(mask) and triton_attention.usable(query, groups):
        grouped = grouped_queries(query, codes[0].shape[1])  # [B, Nkv, g, D]: one pass over the codes
        out, _ = triton_attention.attend_int8_triton(grouped, codes, scales, mask)
        return out.reshape(query.shape)
    key_codes, value_codes = codes
    key_scales, value_scales = scales
    if groups > 1:  # GQA: each KV head serves `groups` query heads (views until the matmul)
        key_codes, value_codes = (c.repeat_interleave(groups, dim=1) for c in (key_codes, value_codes))
        key_scales, value_scales = (s.repeat_interleave(groups, dim=1) for s in (key_scales, value_scales))
    length = key_codes.shape[-2]
    causal = _causal_mask(query.shape[-2], length, query.device) if mask is None and query.shape[-2] > 1 else None
    mask = mask if mask is not None else causal
    out, _ = _attend(query, (key_codes, value_codes), (key_scales, value_scales), mask, block, want_lse=False)
    return out


def attend_int8_with_lse(query: torch.Tensor, codes: tuple[torch.Tensor, torch.Tensor],
                         scales: tuple[torch.Tensor, torch.Tensor], block: int = BLOCK,
                         mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """attend_int8 without GQA (the shared-prefix caches' parts): query [B, N, T, D], codes/scales
    [B, N, S, *], mask bool broadcastable to [B, N, T, S] or None (every key visible; otherwise at
    least one visible per query) -> (out [B, N, T, D] in query's dtype, log-sum-exp of the scaled
    scores [B, N, T] fp32)."""
    if triton_attention.takes_mask(mask) and triton_attention.usable(query):
        return triton_attention.attend_int8_triton(query, codes, scales, mask)
    out, lse = _attend(query, codes, scales, mask, block, want_lse=True)
    assert lse is not None
    return out, lse.squeeze(-1)


def grouped_queries(query: torch.Tensor, kv_heads: int) -> torch.Tensor:
    """[B, Nq, Tq, D] -> [B, Nkv, g * Tq, D]: each KV head's g query heads stacked on the query axis."""
    batch, heads, length, dim = query.shape
    return query.reshape(batch, kv_heads, (heads // kv_heads) * length, dim)


def _attend(query, codes, scales, mask, block: int, want_lse: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(out [B, N, T, D] in query's dtype, lse [B, N, T, 1] fp32 when wanted, else None), the GQA
    heads already repeated. The lse costs ops only where it is asked for."""
    (key_codes, value_codes), (key_scales, value_scales) = codes, scales
    query32 = query.to(torch.float32) * query.shape[-1] ** -0.5  # [B, N, T, D]
    if key_codes.shape[-2] <= block:
        out, lse = _one_block(query32, key_codes, value_codes, key_scales, value_scales, mask, want_lse)
    else:
        out, lse = _blocks(query32, key_codes, value_codes, key_scales, value_scales, mask, block)
    return out.to(query.dtype), lse if want_lse else None


def _causal_mask(queries: int, keys: int, device: torch.device) -> torch.Tensor:
    """[1, 1, T, S]: query t (the last T positions) sees keys <= its own position."""
    query_pos = torch.arange(keys - queries, keys, device=device)[:, None]
    return (torch.arange(keys, device=device)[None, :] <= query_pos)[None, None]


def _scores(query32, key_codes, key_scales, mask) -> torch.Tensor:
    """[B, N, T, s] fp32 scores of one block, masked positions at -inf."""
    scores = torch.matmul(query32, key_codes.transpose(-1, -2).to(torch.float32))
    scores = scores * key_scales.transpose(-1, -2).to(torch.float32)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores


def _one_block(query32, key_codes, value_codes, key_scales, value_scales, mask,
               want_lse: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    scores = _scores(query32, key_codes, key_scales, mask)  # [B, N, T, S]
    lse = torch.logsumexp(scores, dim=-1, keepdim=True) if want_lse else None  # [B, N, T, 1]
    probs = torch.exp(scores - lse) if lse is not None else scores.softmax(dim=-1)
    weighted = probs * value_scales.transpose(-1, -2).to(torch.float32)
    return torch.matmul(weighted, value_codes.to(torch.float32)), lse  # [B, N, T, D]


def _blocks(query32, key_codes, value_codes, key_scales, value_scales, mask,
            block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Online softmax over key blocks: running max m, normaliser l and output o per query."""
    running_max: torch.Tensor | None = None
    running_sum = output = torch.zeros(())
    for start in range(0, key_codes.shape[-2], block):
        part = slice(start, start + block)
        block_mask = None if mask is None else mask[..., part]
        scores = _scores(query32, key_codes[..., part, :], key_scales[..., part, :], block_mask)
        block_max = scores.amax(dim=-1, keepdim=True)  # [B, N, T, 1]
        new_max = block_max if running_max is None else torch.maximum(running_max, block_max)
        safe_max = torch.where(torch.isfinite(new_max), new_max, torch.zeros_like(new_max))
        probs = torch.exp(scores - safe_max)
        weighted = probs * value_scales[..., part, :].transpose(-1, -2).to(torch.float32)
        block_out = torch.matmul(weighted, value_codes[..., part, :].to(torch.float32))
        block_sum = probs.sum(dim=-1, keepdim=True)
        if running_max is None:
            output, running_sum = block_out, block_sum
        else:
            keep = torch.exp(running_max - safe_max)  # rescale what earlier blocks accumulated
            output, running_sum = output * keep + block_out, running_sum * keep + block_sum
        running_max = safe_max
    assert running_max is not None  # at least one block
    return output / running_sum, running_max + torch.log(running_sum)
