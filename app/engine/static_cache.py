"""A pre-allocated KV cache whose length lives on the device: what a captured decode step needs.

Buffers never move and nothing about the step is read on the host: the next position, the RoPE
length (dynamic NTK included) and the attention mask all come from `length`, a 0-d long tensor on
the device that the forward itself advances (`length += 1`). `host_length` mirrors it on the host,
kept by the caller (it knows how many steps it ran), and is used only outside the step.
All rows share one length: branches decode in lockstep from one prompt.
A step attends over the first `window` positions only (window > length; the mask hides the rest),
so it reads the filled part of the cache plus at most the rest of its window, not the whole
capacity: eager steps use the exact length, captured graphs one of a few fixed windows
(`graph_window`: powers of two from MIN_WINDOW, then the capacity), each captured once.
Buffers: 16-bit keys/values [B, N, capacity, D]; int8 codes [B, N, capacity, D] + scales
[B, N, capacity, 1] (read in place by int8_attention). Only decode steps (one token per row) run
on it; prefill uses the growable cache and `load` copies it in, except where that cache is
`as_dynamic()`: a batch-1 dynamic view whose layers write into these very buffers, so a prefill
lands in place, `load` has nothing to copy and the prefix cache can keep the view (one K/V cache
on the device instead of a dynamic one next to a static one).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import torch
from torch.nn import functional as F

from app.engine.int8_attention import attend_int8
from app.engine.kv_cache import BufferedLayer, GrowableLayer, Int8KVCache, new_cache, quantize_int8

MIN_WINDOW = 256  # the smallest window a captured step reads


def new_static_buffers(layers: int, shape: tuple[int, int, int, int], *, dtype: torch.dtype, device: torch.device,
                       bits: int) -> list[tuple[torch.Tensor, ...]]:
    """Zeroed buffers per layer for `shape` [B, N, capacity, D]: 16-bit (keys, values), or int8
    (key codes, value codes, key scales [B, N, capacity, 1], value scales)."""
    if bits == 16:
        return [(torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device))
                for _ in range(layers)]
    scale_shape = (*shape[:3], 1)
    return [(torch.zeros(shape, dtype=torch.int8, device=device), torch.zeros(shape, dtype=torch.int8, device=device),
             torch.zeros(scale_shape, dtype=dtype, device=device), torch.zeros(scale_shape, dtype=dtype, device=device))
            for _ in range(layers)]


class StaticKVCache:
    def __init__(self, layers: int, batch: int, heads: int, head_dim: int, capacity: int, *,
                 dtype: torch.dtype, device: torch.device, bits: int = 16,
                 buffers: list[tuple[torch.Tensor, ...]] | None = None) -> None:
        """`buffers`: storage to use instead of fresh zeros (per layer, as new_static_buffers makes it)."""
        self.bits, self.capacity, self.batch = bits, capacity, batch
        self.buffers = buffers if buffers is not None else new_static_buffers(
            layers, (batch, heads, capacity, head_dim), dtype=dtype, device=device, bits=bits)
        self.length = torch.zeros((), dtype=torch.long, device=device)
        self.host_length = 0
        self.positions = torch.arange(capacity, device=device)
        self.window = capacity  # key positions the next steps read (set_window)
        self.mask: torch.Tensor | None = None  # [1, 1, 1, window], set by begin_step
        self.generation = 0  # bumped by claim(): views handed out before then are stale

    def get_seq_length(self) -> int:
        return self.host_length

    def graph_window(self, tokens: int) -> int:
        """The fixed window a captured step covering `tokens` keys reads: the smallest power of two
        >= tokens (at least MIN_WINDOW), or the capacity."""
        window = MIN_WINDOW
        while window < tokens:
            window *= 2
        return min(window, self.capacity)

    def choose_windows(self, graphed: bool) -> Hashable:
        """Set the window of the next step: a captured step's fixed window (graph_window), else the
        exact length; returns what identifies that step's graph."""
        tokens = self.host_length + 1
        window = self.graph_window(tokens) if graphed else tokens
        self.set_window(window)
        return window

    def set_window(self, window: int) -> None:
        if not self.host_length < window <= self.capacity:
            raise ValueError(f"a window of {window} does not cover position {self.host_length}")
        self.window = window

    def begin_step(self) -> None:
        """Device-side mask for this step: keys at positions <= length (within the window) are visible."""
        self.mask = (self.positions[: self.window] <= self.length)[None, None, None, :]

    def end_step(self) -> None:
        self.length.add_(1)

    def write(self, layer_idx: int, key: torch.Tensor, value: torch.Tensor) -> None:
        """key/value [B, N, 1, D] into position `length` (index_copy_: no host read)."""
        self._write_at(layer_idx, self.length.view(1), key, value)

    def _write_at(self, layer_idx: int, index: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> None:
        """key/value [B, N, 1, D] into position `index` ([1] long on the device) of every row."""
        buffers = self.buffers[layer_idx]
        if self.bits == 16:
            buffers[0].index_copy_(2, index, key.to(buffers[0].dtype))
            buffers[1].index_copy_(2, index, value.to(buffers[1].dtype))
            return
        (key_codes, key_scales), (value_codes, value_scales) = quantize_int8(key), quantize_int8(value)
        for buffer, new in zip(buffers, (key_codes, value_codes, key_scales, value_scales)):
            buffer.index_copy_(2, index, new.to(buffer.dtype))

    def attend(self, layer_idx: int, query: torch.Tensor, gqa: bool) -> torch.Tensor:
        """query [B, N, 1, D] over the visible positions of the window -> [B, N, 1, D]."""
        buffers = tuple(buffer[:, :, : self.window] for buffer in self.buffers[layer_idx])  # views
        if self.bits == 16:
            keys, values = buffers
            return F.scaled_dot_product_attention(query, keys.to(query.dtype), values.to(query.dtype),
                                                  attn_mask=self.mask, enable_gqa=gqa)
        return attend_int8(query, (buffers[0], buffers[1]), (buffers[2], buffers[3]), self.mask)

    def load(self, cache: Any, rows: int) -> None:
        """Copy a dynamic cache (batch 1 or `rows`) into the buffers; length = its length. A view of
        these buffers (as_dynamic) is not copied: only the length is taken."""
        length = cache.get_seq_length()
        if length >= self.capacity:
            raise ValueError(f"{length} cached tokens do not fit a static cache of {self.capacity}")
        if self.aliases(cache):
            self.length.fill_(length)
            self.host_length = length
            return
        for buffers, layer in zip(self.buffers, cache.layers):
            sources = (layer.keys, layer.values) if self.bits == 16 else (
                layer.keys, layer.values, layer.key_scales, layer.value_scales)
            for buffer, source in zip(buffers, sources):
                source = source.to(buffer.dtype) if buffer.dtype != torch.int8 else source
                buffer[:, :, :length] = source.expand(rows, *source.shape[1:]) if source.shape[0] == 1 else source
        self.length.fill_(length)
        self.host_length = length

    def claim(self) -> None:
        """The buffers are about to get new contents: every view handed out so far goes stale (a
        prefix cache kept aside, e.g. for another LoRA adapter, must not reuse it)."""
        self.generation += 1

    def as_dynamic(self, config: Any, length: int = 0) -> Any:
        """Row 0 of a batch-1 cache as a dynamic cache of `length` tokens that writes into these
        buffers; None where the config's cache is not made of our growable layers."""
        cache = new_cache(config, self.bits)
        if self.batch != 1:
            raise ValueError("only a batch-1 static cache has a dynamic view")
        if self.bits == 16 and not all(type(layer) is GrowableLayer for layer in cache.layers):
            return None
        for index, buffers in enumerate(self.buffers):
            layer = cache.layer(index) if isinstance(cache, Int8KVCache) else cache.layers[index]
            layer.adopt(buffers, length)
        generation = self.generation
        setattr(cache, "still_valid", lambda: self.generation == generation)  # read by PrefixCache.take
        return cache

    def aliases(self, cache: Any) -> bool:
        """Whether `cache` is a dynamic view of these buffers (as_dynamic), still writing in place."""
        layers = getattr(cache, "layers", None)
        if not layers or len(layers) != len(self.buffers):
            return False
        return all(isinstance(layer, BufferedLayer) and len(layer._buffers) == len(buffers)
                   and all(mine is theirs for mine, theirs in zip(buffers, layer._buffers))
                   for layer, buffers in zip(layers, self.buffers))

    def to_dynamic(self, config: Any, row: int = 0) -> Any:
        """Row `row` as a growable (or int8) dynamic cache, for the prefix cache."""
        cache = new_cache(config, self.bits)
        length = self.host_length
        for index, buffers in enumerate(self.buffers):
            parts = tuple(buffer[row : row + 1, :, :length] for buffer in buffers)
            if isinstance(cache, Int8KVCache):  # the codes and scales themselves, not a re-quantization
                cache.layer(index).append_parts(parts)
            else:
                cache.update(parts[0], parts[1], index)
        return cache
