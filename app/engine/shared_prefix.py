"""Attention for N branches of one prompt: the prompt's K/V kept once, each branch's own tokens apart.

Branches continue the same prompt, so its P positions have the same keys and values in every row.
Instead of N copies of them (`batch_repeat_interleave`), `SharedPrefixCache` keeps the prompt cache's
own tensors [1, Nkv, P, D] and, per layer, a suffix [N, Nkv, T, D] of each row's generated tokens. A
decode step reads the prompt once for all rows: the N queries of each KV head are stacked on the query
axis of one attention over the prompt, each row's query attends its own suffix, and the two parts are
merged by their log-sum-exps (one softmax over prompt + suffix, exactly):

    out = out_s + sigmoid(lse_p - lse_s) * (out_p - out_s)

So the prompt costs 1x instead of Nx of the memory and of the reads in every step. Only decode steps
(one query per row) run on it; `to_dynamic(row)` gives one row back as an ordinary cache.
Both cache widths: a 16-bit prompt (GrowableLayer) with a 16-bit suffix, or an int8 prompt
(Int8KVLayer: codes and scales, read in place by int8_attention) with an int8 suffix, so branches on
the 16 GB card's int8 cache do not hold N copies of the prompt either.

Shapes: N rows, Nq query heads, Nkv KV heads, g = Nq / Nkv (query heads h use KV head h // g),
P prompt tokens, T suffix tokens, D head width.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers.cache_utils import DynamicCache

from app.engine import triton_attention
from app.engine.kv_cache import GrowableLayer, Int8KVCache, Int8KVLayer
from app.engine.int8_attention import attend_int8_with_lse, grouped_queries

_CPU_FLASH = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def attention_with_lse(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                       mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """query [B, H, Tq, D], keys/values [B, H, S, D], mask bool broadcastable to [B, H, Tq, S]
    (True = visible; None: every key visible; at least one key visible per query) ->
    (out [B, H, Tq, D] in query's dtype, log-sum-exp of the scaled scores [B, H, Tq] fp32).

    On CUDA the Triton kernel (app.engine.triton_attention) where it applies; on CPU torch's own
    flash kernel (it returns the log-sum-exp); elsewhere the plain math in fp32
    (`reference_attention_with_lse`)."""
    if triton_attention.takes_mask(mask) and triton_attention.usable(query) and query.device.type != "cpu":  # CUDA: one pass over the 16-bit K/V, no fp32 copy
        return triton_attention.attend_16bit_triton(query, keys, values, mask)
    if query.device.type == "cpu" and _CPU_FLASH is not None:
        bias = None if mask is None else torch.zeros(mask.shape, dtype=query.dtype).masked_fill(~mask, float("-inf"))
        out, lse = _CPU_FLASH(query, keys, values, attn_mask=bias)
        return out, lse.to(torch.float32)
    return reference_attention_with_lse(query, keys, values, mask)


def reference_attention_with_lse(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """attention_with_lse written out in fp32 (the reference the fast path is tested against)."""
    scores = query.float() @ keys.float().transpose(-1, -2) * query.shape[-1] ** -0.5  # [B, H, Tq, S]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    out = torch.exp(scores - lse[..., None]) @ values.float()
    return out.to(query.dtype), lse


Part = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # grouped query -> (out, lse)


def attend_prompt_and_own(query: torch.Tensor, kv_heads: int, prompt: Part, own: Part) -> torch.Tensor:
    """One decode step of N branch rows over a prompt held once plus each row's own tokens.

    query [N, Nq, 1, D]. `prompt` gets all rows' queries as query positions of one batch row,
    [1, Nkv, g * N, D]; `own` gets each row's queries, [N, Nkv, g, D]; each returns (out shaped like
    its query, lse [.., Nkv, g * N or g] fp32). The two softmaxes merge exactly by their lses:
    out = out_own + sigmoid(lse_prompt - lse_own) * (out_prompt - out_own) -> [N, Nq, 1, D]."""
    rows, heads, _, dim = query.shape
    out_p, lse_p = prompt(grouped_queries(query.transpose(0, 2), kv_heads))  # [1, Nkv, g * N, D]
    out_p = out_p.reshape(1, heads, rows, dim).transpose(0, 2)  # [N, Nq, 1, D]
    lse_p = lse_p.reshape(1, heads, rows).transpose(0, 2)  # [N, Nq, 1]
    out_s, lse_s = own(grouped_queries(query, kv_heads))  # [N, Nkv, g, D]
    out_s, lse_s = out_s.reshape(rows, heads, 1, dim), lse_s.reshape(rows, heads, 1)
    share = torch.sigmoid(lse_p - lse_s)[..., None]  # [N, Nq, 1, 1]: the prompt's part of the softmax
    return torch.lerp(out_s.float(), out_p.float(), share).to(query.dtype)


def attend_part(query: torch.Tensor, parts: tuple[torch.Tensor, ...],
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """query [B, Nkv, Tq, D] over one part's buffers (16-bit (keys, values) or int8 (key codes,
    value codes, key scales, value scales), [B, Nkv, S, *]) -> (out, lse [B, Nkv, Tq])."""
    if len(parts) == 4:
        return attend_int8_with_lse(query, (parts[0], parts[1]), (parts[2], parts[3]), mask=mask)
    return attention_with_lse(query, parts[0], parts[1], mask)


class SharedPrefixCache:
    """The prompt's K/V once for every branch row plus each row's own tokens (see the module docstring);
    the number of rows is that of the queries and of the suffix caches."""

    def __init__(self, prompt: DynamicCache) -> None:
        self.int8 = isinstance(prompt, Int8KVCache)
        # each layer: (keys, values) [1, Nkv, P, D]; int8: (key codes, value codes, key scales, value scales)
        self.prefix: list[tuple[torch.Tensor, ...]] = [layer.parts() for layer in prompt.layers]
        self.prefix_length = prompt.get_seq_length()
        self.suffix: list[GrowableLayer | Int8KVLayer] = [
            Int8KVLayer() if self.int8 else GrowableLayer() for _ in self.prefix]

    @staticmethod
    def can_share(cache: object) -> bool:
        """A one-row cache of plain full-attention layers, 16-bit or int8 (what new_cache builds)."""
        if not isinstance(cache, DynamicCache) or not cache.layers or cache.get_seq_length() == 0:
            return False
        kind = Int8KVLayer if isinstance(cache, Int8KVCache) else GrowableLayer
        return all(type(layer) is kind and layer.keys.shape[0] == 1 for layer in cache.layers)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.prefix_length + self.suffix[layer_idx].get_seq_length()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep the rows `indices` (finished branches leave); the prompt part has no rows to drop."""
        for layer in self.suffix:
            layer.batch_select_indices(indices)

    def attend(self, layer_idx: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """One decode step of layer `layer_idx`: query [N, Nq, 1, D], this step's key/value
        [N, Nkv, 1, D] (appended to the row's suffix) -> attention output [N, Nq, 1, D]."""
        if query.shape[2] != 1:
            raise ValueError("a shared-prefix cache runs decode steps (one query per row) only")
        suffix = self.suffix[layer_idx]
        if isinstance(suffix, Int8KVLayer):
            suffix.append(key, value)
        else:
            suffix.update(key, value)
        prefix = self.prefix[layer_idx]
        return attend_prompt_and_own(query, key.shape[1], lambda stacked: attend_part(stacked, prefix),
                                     lambda grouped: attend_part(grouped, suffix.parts()))

    def to_dynamic(self, row: int) -> DynamicCache:
        """Row `row` (prompt + its own tokens) as an ordinary one-row cache of the prompt's layer kind
        (int8 codes and scales are copied as they are, never re-quantized)."""
        cache: DynamicCache = Int8KVCache() if self.int8 else DynamicCache()
        cache.layers = []
        for prompt_parts, suffix in zip(self.prefix, self.suffix):
            layer = Int8KVLayer() if self.int8 else GrowableLayer()
            layer.append_parts(prompt_parts)
            if suffix.get_seq_length():
                layer.append_parts(tuple(part[row : row + 1] for part in suffix.parts()))
            cache.layers.append(layer)
        return cache

