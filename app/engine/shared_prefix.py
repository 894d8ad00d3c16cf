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

Shapes: N rows, Nq query heads, Nkv KV heads, g = Nq / Nkv (query heads h use KV head h // g),
P prompt tokens, T suffix tokens, D head width.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache

from app.engine.kv_cache import GrowableLayer

_CPU_FLASH = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def attention_with_lse(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """query [B, H, Tq, D], keys/values [B, H, S, D] (every key visible to every query) ->
    (out [B, H, Tq, D] in query's dtype, log-sum-exp of the scaled scores [B, H, Tq] fp32).

    On CPU this is torch's own flash kernel (it returns the log-sum-exp); elsewhere the plain math in
    fp32 (`reference_attention_with_lse`)."""
    if query.device.type == "cpu" and _CPU_FLASH is not None:
        out, lse = _CPU_FLASH(query, keys, values)
        return out, lse.to(torch.float32)
    return reference_attention_with_lse(query, keys, values)


def reference_attention_with_lse(query: torch.Tensor, keys: torch.Tensor,
                                 values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """attention_with_lse written out in fp32 (the reference the fast path is tested against)."""
    scores = query.float() @ keys.float().transpose(-1, -2) * query.shape[-1] ** -0.5  # [B, H, Tq, S]
    lse = torch.logsumexp(scores, dim=-1)
    out = torch.exp(scores - lse[..., None]) @ values.float()
    return out.to(query.dtype), lse


def _grouped(query: torch.Tensor, kv_heads: int) -> torch.Tensor:
    """[B, Nq, Tq, D] -> [B, Nkv, g * Tq, D]: each KV head's g query heads stacked on the query axis."""
    batch, heads, length, dim = query.shape
    return query.reshape(batch, kv_heads, (heads // kv_heads) * length, dim)


class SharedPrefixCache:
    """The prompt's K/V once for every branch row plus each row's own tokens (see the module docstring);
    the number of rows is that of the queries and of the suffix caches."""

    def __init__(self, prompt: DynamicCache) -> None:
        self.prefix = [(layer.keys, layer.values) for layer in prompt.layers]  # each [1, Nkv, P, D]
        self.prefix_length = prompt.get_seq_length()
        self.suffix = [GrowableLayer() for _ in self.prefix]

    @staticmethod
    def can_share(cache: object) -> bool:
        """A one-row 16-bit cache of plain full-attention layers (what new_cache builds)."""
        if not isinstance(cache, DynamicCache) or not cache.layers or cache.get_seq_length() == 0:
            return False
        return all(type(layer) is GrowableLayer and layer.keys.shape[0] == 1 for layer in cache.layers)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.prefix_length + self.suffix[layer_idx].get_seq_length()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep the rows `indices` (finished branches leave); the prompt part has no rows to drop."""
        for layer in self.suffix:
            layer.batch_select_indices(indices)

    def attend(self, layer_idx: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """One decode step of layer `layer_idx`: query [N, Nq, 1, D], this step's key/value
        [N, Nkv, 1, D] (appended to the row's suffix) -> attention output [N, Nq, 1, D]."""
        rows, heads, length, dim = query.shape
        if length != 1:
            raise ValueError("a shared-prefix cache runs decode steps (one query per row) only")
        keys, values = self.suffix[layer_idx].update(key, value)  # [N, Nkv, T, D]
        kv_heads = keys.shape[1]
        prompt_keys, prompt_values = self.prefix[layer_idx]
        # the prompt: all N rows' queries at once, as N query positions of one batch row
        stacked = _grouped(query.transpose(0, 2), kv_heads)  # [1, Nkv, g * N, D]
        out_p, lse_p = attention_with_lse(stacked, prompt_keys, prompt_values)
        out_p = out_p.reshape(1, heads, rows, dim).transpose(0, 2)  # [N, Nq, 1, D]
        lse_p = lse_p.reshape(1, heads, rows).transpose(0, 2)  # [N, Nq, 1]
        # each row's own tokens
        out_s, lse_s = attention_with_lse(_grouped(query, kv_heads), keys, values)  # [N, Nkv, g, D]
        out_s, lse_s = out_s.reshape(rows, heads, 1, dim), lse_s.reshape(rows, heads, 1)
        share = torch.sigmoid(lse_p - lse_s)[..., None]  # [N, Nq, 1, 1]: the prompt's part of the softmax
        return torch.lerp(out_s.float(), out_p.float(), share).to(query.dtype)

    def to_dynamic(self, row: int) -> DynamicCache:
        """Row `row` (prompt + its own tokens) as an ordinary one-row cache of GrowableLayers."""
        cache = DynamicCache()
        cache.layers = []
        for (prompt_keys, prompt_values), suffix in zip(self.prefix, self.suffix):
            layer = GrowableLayer()
            layer.update(prompt_keys, prompt_values)
            if suffix.get_seq_length():
                layer.update(suffix.keys[row : row + 1], suffix.values[row : row + 1])
            cache.layers.append(layer)
        return cache
