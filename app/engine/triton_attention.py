"""A Triton decode-attention kernel over the KV cache: int8 codes and scales (or 16-bit K/V) read once.

The pure-torch reader (app.engine.int8_attention) widens each block of codes to fp32 in memory
before its matmuls, so on a GPU every cached byte costs a 4-byte write and two 4-byte reads. This
kernel loads the int8 codes and their scales straight into registers: one pass over the cache.
The same kernel without scales reads a 16-bit cache for the shared-prompt parts, which need the
log-sum-exp that SDPA does not return (their torch fallback makes fp32 copies of the K/V).

  split kernel  grid (B * Nkv, SPLITS): program (bh, split) reads keys [split * CHUNK, ...) of one
                KV head and leaves, for its Q queries, the running max m, sum l and output o (fp32)
  combine       (torch, 6 ops): lse = logsumexp_split(m + log l), out = sum_split(exp(m + log l - lse) o / l)

Scores are (q . codes_k) * scale_k / sqrt(D); the value side is sum_s p_s * scale_v[s] * codes_v[s].
Masks: the same key mask for every query of every row (a [S] bool vector, or none), which is what
the static cache's length and the shared-prompt parts use; a split with no visible key contributes
nothing. At least one key is visible overall. Queries are the KV head's grouped queries
(GQA heads x rows), at most MAX_QUERIES; shapes otherwise go to the torch reader.
Shapes: q [B, Nkv, Q, D]; codes [B, Nkv, S, D] int8; scales [B, Nkv, S, 1]; mask [S] bool.
"""

from __future__ import annotations

from typing import Any

import torch

from app.engine.op_census import one_launch
from app.engine.triton_support import available, interpreted, tl, triton

MAX_QUERIES = 16  # grouped queries per KV head the kernel takes (16 run as a tl.dot, fewer in registers)
MAX_HEAD_DIM = 256  # any width up to this (padded to a power of two inside the kernel)
BLOCK_S = 64  # keys per inner block
CHUNK = 512  # keys per program (a split)


def usable(query: torch.Tensor, queries: int | None = None) -> bool:
    """Whether the kernel can run for `query` [B, Nkv, Q, D] (or `queries` grouped queries per KV
    head) here: CUDA, or the interpreter on CPU."""
    queries = query.shape[2] if queries is None else queries
    if not available() or queries > MAX_QUERIES or query.shape[3] > MAX_HEAD_DIM:
        return False
    return query.is_cuda or interpreted()


def takes_mask(mask: torch.Tensor | None) -> bool:
    """Whether `mask` is the kernel's kind: one key mask [1, 1, 1, S] for every row and query, or None."""
    return mask is None or all(size == 1 for size in mask.shape[:-1])


def int8_reader(model: Any) -> str:
    """What reads the int8 cache in `model`'s decode steps, for the runtime report."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    on_cuda = output is not None and output.weight.device.type == "cuda"
    config = getattr(model, "config", None)
    heads, kv_heads = getattr(config, "num_attention_heads", 1), getattr(config, "num_key_value_heads", 1) or 1
    fits = getattr(config, "head_dim", 0) <= MAX_HEAD_DIM and heads // kv_heads <= MAX_QUERIES  # as `usable`
    if on_cuda and available() and fits:
        return "the Triton int8 attention kernel"
    return "the pure-torch int8 reader" + ("" if on_cuda or not available() else " (Triton kernels need CUDA)")


if triton is not None:

    @triton.jit
    def _scores(q, k, USE_DOT: tl.constexpr):
        """q [BLOCK_Q, BLOCK_D] . k [BLOCK_S, BLOCK_D] -> [BLOCK_Q, BLOCK_S] (fp32). One or a few
        queries (XVERSE has no GQA: one per KV head at batch 1) multiply in registers; a padded
        16-row dot would spend 16x the arithmetic on nothing."""
        if USE_DOT:
            out = tl.dot(q, tl.trans(k), input_precision="ieee")
        else:
            out = tl.sum(q[:, None, :] * k[None, :, :], axis=2)
        return out

    @triton.jit
    def _weighted(w, v, USE_DOT: tl.constexpr):
        """w [BLOCK_Q, BLOCK_S] @ v [BLOCK_S, BLOCK_D] -> [BLOCK_Q, BLOCK_D] (fp32)."""
        if USE_DOT:
            out = tl.dot(w, v, input_precision="ieee")
        else:
            out = tl.sum(w[:, :, None] * v[None, :, :], axis=1)
        return out

    @triton.jit
    def _split_kernel(q_ptr, kc_ptr, vc_ptr, ks_ptr, vs_ptr, mask_ptr, m_ptr, l_ptr, o_ptr,
                      heads, keys, queries, scale,
                      q_b, q_h, q_q, k_b, k_h, k_s, v_b, v_h, v_s, ks_b, ks_h, ks_s, vs_b, vs_h, vs_s,
                      HAS_MASK: tl.constexpr, SCALED: tl.constexpr, D: tl.constexpr, BLOCK_D: tl.constexpr,
                      BLOCK_Q: tl.constexpr, BLOCK_S: tl.constexpr, CHUNK: tl.constexpr, USE_DOT: tl.constexpr):
        bh, split = tl.program_id(0), tl.program_id(1)
        b, h = bh // heads, bh % heads
        q_rows, dims = tl.arange(0, BLOCK_Q), tl.arange(0, BLOCK_D)
        in_dim = dims < D  # head widths that are not a power of two (A4.2B: 80) are padded
        q = tl.load(q_ptr + b * q_b + h * q_h + q_rows[:, None] * q_q + dims[None, :],
                    mask=(q_rows < queries)[:, None] & in_dim[None, :], other=0.0).to(tl.float32) * scale
        m = tl.full((BLOCK_Q,), float("-inf"), tl.float32)
        l = tl.zeros((BLOCK_Q,), tl.float32)
        acc = tl.zeros((BLOCK_Q, BLOCK_D), tl.float32)
        for start in range(split * CHUNK, split * CHUNK + CHUNK, BLOCK_S):
            pos = start + tl.arange(0, BLOCK_S)
            seen = pos < keys
            if HAS_MASK:
                seen = seen & (tl.load(mask_ptr + pos, mask=pos < keys, other=0) != 0)
            k = tl.load(kc_ptr + b * k_b + h * k_h + pos[:, None] * k_s + dims[None, :],
                        mask=seen[:, None] & in_dim[None, :], other=0).to(tl.float32)  # [BLOCK_S, BLOCK_D]
            scores = _scores(q, k, USE_DOT)  # [BLOCK_Q, BLOCK_S]
            if SCALED:
                k_scale = tl.load(ks_ptr + b * ks_b + h * ks_h + pos * ks_s, mask=seen, other=0.0).to(tl.float32)
                scores = scores * k_scale[None, :]
            scores = tl.where(seen[None, :], scores, float("-inf"))
            new_m = tl.maximum(m, tl.max(scores, axis=1))
            safe_m = tl.where(new_m == float("-inf"), 0.0, new_m)
            p = tl.exp(scores - safe_m[:, None])  # masked keys: exp(-inf) = 0
            keep = tl.exp(m - safe_m)
            v = tl.load(vc_ptr + b * v_b + h * v_h + pos[:, None] * v_s + dims[None, :],
                        mask=seen[:, None] & in_dim[None, :], other=0).to(tl.float32)
            weighted = p
            if SCALED:
                v_scale = tl.load(vs_ptr + b * vs_b + h * vs_h + pos * vs_s, mask=seen, other=0.0).to(tl.float32)
                weighted = p * v_scale[None, :]
            acc = acc * keep[:, None] + _weighted(weighted, v, USE_DOT)
            l = l * keep + tl.sum(p, axis=1)
            m = new_m
        out, real = (bh * tl.num_programs(1) + split) * queries + q_rows, q_rows < queries  # only real queries
        tl.store(m_ptr + out, m, mask=real)
        tl.store(l_ptr + out, l, mask=real)
        tl.store(o_ptr + out[:, None] * D + dims[None, :], acc, mask=real[:, None] & in_dim[None, :])


def attend_int8_triton(query: torch.Tensor, codes: tuple[torch.Tensor, torch.Tensor],
                       scales: tuple[torch.Tensor, torch.Tensor],
                       mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """query [B, Nkv, Q, D]; codes/scales [B, Nkv, S, *] (views are fine: strides are passed);
    mask bool [S] or None -> (out [B, Nkv, Q, D] in query's dtype, lse [B, Nkv, Q] fp32)."""
    return _launch(query, codes, scales, mask)


def attend_16bit_triton(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                        mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The same over a 16-bit cache, keys/values [B, Nkv, S, D] read as they are (no fp32 copy)."""
    return _launch(query, (keys, values), None, mask)


def _launch(query: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor],
            scales: tuple[torch.Tensor, torch.Tensor] | None, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    batch, heads, queries, dim = query.shape
    keys = kv[0].shape[2]
    splits = triton.cdiv(keys, CHUNK)
    block_q = triton.next_power_of_2(queries)
    use_dot = block_q >= 16  # else the products run in registers, on as many keys as fit them
    block_s = BLOCK_S if use_dot else max(16, BLOCK_S // block_q)
    shape = (batch * heads, splits, queries)
    m = torch.empty(shape, dtype=torch.float32, device=query.device)
    l = torch.empty_like(m)
    o = torch.empty((*shape, dim), dtype=torch.float32, device=query.device)
    query, kv = _unit_last(query), (_unit_last(kv[0]), _unit_last(kv[1]))  # the kernel steps 1 along D
    (kc, vc), (ks, vs) = kv, scales if scales is not None else (m, m)  # m: a stand-in, never read unscaled
    scale_strides = (ks.stride(0), ks.stride(1), ks.stride(2), vs.stride(0), vs.stride(1), vs.stride(2)) \
        if scales is not None else (0,) * 6
    flags = mask.reshape(-1).view(torch.uint8) if mask is not None else m  # [S] 0/1 (unread without a mask)
    with one_launch("triton_attention.split"):
        _split_kernel[(batch * heads, splits)](
            query, kc, vc, ks, vs, flags, m, l, o, heads, keys, queries, dim ** -0.5,
            query.stride(0), query.stride(1), query.stride(2), kc.stride(0), kc.stride(1), kc.stride(2),
            vc.stride(0), vc.stride(1), vc.stride(2), *scale_strides,
            HAS_MASK=mask is not None, SCALED=scales is not None, D=dim, BLOCK_D=max(16, triton.next_power_of_2(dim)),
            BLOCK_Q=block_q, BLOCK_S=block_s, CHUNK=CHUNK, USE_DOT=use_dot)
    return _combine(m, l, o, batch, heads, queries, query.dtype)


def _unit_last(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` itself when its last dimension is contiguous (window views are), else a copy."""
    return tensor if tensor.stride(-1) == 1 else tensor.contiguous()


def _combine(m, l, o, batch: int, heads: int, queries: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-split (m, l, o) [B*Nkv, SPLITS, Q(, D)] -> (out [B, Nkv, Q, D], lse [B, Nkv, Q])."""
    part_lse = m + torch.log(l)  # -inf where a split saw no key
    lse = torch.logsumexp(part_lse, dim=1)  # [B*Nkv, Q]
    weight = torch.exp(part_lse - lse[:, None]) / l.clamp(min=1e-30)  # [B*Nkv, SPLITS, Q]
    out = (weight[..., None] * o).sum(dim=1)  # [B*Nkv, Q, D]
    return out.reshape(batch, heads, queries, o.shape[-1]).to(dtype), lse.reshape(batch, heads, queries)
