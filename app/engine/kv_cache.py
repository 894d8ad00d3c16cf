"""KV caches for the local engine, in one module: 16-bit and int8 layers that write new tokens in place.

`DynamicLayer.update` does `torch.cat([keys, new])`, copying all S cached tokens for every new
token. `BufferedLayer` keeps its tensors in buffers with spare room and writes new tokens into
them; the published views (`keys`, `values`, ...) are the filled part. Crop only shortens the
length (the stale tail is overwritten by later writes).

- `GrowableLayer`: 16-bit K/V, buffers [B, N, capacity, D].
- `Int8KVLayer`: int8 codes [B, N, capacity, D] with one scale per (row, head, token) [B, N, capacity, 1]
  (absmax over head_dim / 127), halving KV memory: A4.2B at 8K tokens goes from 2.19 GiB (bf16) to
  ~1.12 GiB. XVERSE attention reads the codes in place (`app.engine.int8_attention`, never a
  whole dequantized copy); other models go through `update()`, which returns dequantized K/V.

`new_cache(config, bits)` is the one factory; the width is always passed explicitly (nothing is read
from `model.config`). Both caches are DynamicCache instances, so `crop(-n)`,
`batch_repeat_interleave(n)`, `batch_select_indices`, `reorder_cache` and `get_seq_length` work as
for DynamicCache. Models whose default cache has sliding-window layers keep transformers' classes.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer

KV_BITS = (8, 16)

MIN_HEADROOM = 256  # tokens of spare room after each growth


class BufferedLayer(DynamicLayer):
    """A cache layer whose tensors live in buffers with spare room; subclasses name the views.

    Buffers: a tuple of tensors [B, N, capacity, *]. Invariant: all buffers share B, N and capacity,
    and the views that `_set_length` publishes (keys, values, ...) have length `_length`; every edit
    touches every buffer. Crop only shortens `_length` (the stale tail is overwritten by later writes).
    """

    _buffers: tuple[torch.Tensor, ...] = ()
    _length = 0

    def _set_length(self, length: int) -> None:
        raise NotImplementedError  # sets `_length` and the subclass's views of the buffers

    def parts(self) -> tuple[torch.Tensor, ...]:
        """The filled part of every buffer [B, N, length, *], in buffer order."""
        return tuple(buffer[..., : self._length, :] for buffer in self._buffers)

    def append_parts(self, parts: tuple[torch.Tensor, ...]) -> None:
        """Append tensors shaped like this layer's buffers [B, N, T, *] as they are (int8 codes and
        scales are not re-quantized); an empty layer takes its shapes and dtypes from them."""
        if not self.is_initialized:
            self._initialize_like(parts)
        self._write(parts)

    def adopt(self, buffers: tuple[torch.Tensor, ...], length: int) -> None:
        """Use `buffers` (shaped like this layer's own) as storage, their first `length` positions
        filled; later writes go into them in place (a view of someone else's memory)."""
        self._initialize_like(buffers)
        self._buffers = tuple(buffers)
        self._set_length(length)

    def _initialize_like(self, parts: tuple[torch.Tensor, ...]) -> None:
        """lazy_initialization from buffer-shaped tensors: the last one carries the float dtype
        (16-bit values, or int8 scales), the first two the key and value shapes."""
        float_like = parts[-1]
        keys, values = (float_like.new_empty(*part.shape[:2], 0, part.shape[-1]) for part in parts[:2])
        self.lazy_initialization(keys, values)

    def _write(self, new: tuple[torch.Tensor, ...]) -> None:
        """Append one tensor [B, N, T, *] per buffer at positions [_length, _length + T)."""
        start, end = self._length, self._length + new[0].shape[-2]
        if end > self._buffers[0].shape[-2]:
            self._grow(end)
        for buffer, states in zip(self._buffers, new):
            buffer[..., start:end, :] = states
        self._set_length(end)

    def _grow(self, needed: int) -> None:
        capacity = needed + max(MIN_HEADROOM, needed // 4)
        grown = []
        for buffer in self._buffers:
            bigger = buffer.new_empty(*buffer.shape[:2], capacity, buffer.shape[-1])
            bigger[..., : self._length, :] = buffer[..., : self._length, :]
            grown.append(bigger)
        self._buffers = tuple(grown)

    def get_seq_length(self) -> int:
        return self._length if self.is_initialized else 0

    def crop(self, tokens_to_remove: int) -> None:
        """Drop the last -tokens_to_remove tokens (negative count, DynamicCache semantics)."""
        if tokens_to_remove > 0:
            raise ValueError("crop takes a negative number of tokens to remove")
        if self.is_initialized and tokens_to_remove < 0:
            self._set_length(max(0, self._length + tokens_to_remove))

    def batch_repeat_interleave(self, repeats: int) -> None:
        """Rows [B] -> [B * repeats] (each row repeated in place), into buffers that keep spare room
        so the next decode steps write in place instead of copying the repeated cache again."""
        if self.get_seq_length() > 0:
            capacity = max(self._buffers[0].shape[-2], self._length + MIN_HEADROOM)
            self._buffers = tuple(repeat_rows_with_room(buffer[..., : self._length, :], repeats, capacity)
                                  for buffer in self._buffers)
            self._set_length(self._length)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._map_rows(lambda t: t[indices, ...])

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self._map_rows(lambda t: t.index_select(0, beam_idx.to(t.device)))

    def offload(self) -> None:
        self._map_rows(lambda t: t.to("cpu", non_blocking=True))

    def prefetch(self) -> None:
        if self.is_initialized and self.keys.device != self.device:
            self._map_rows(lambda t: t.to(self.device, non_blocking=True))

    def _map_rows(self, edit) -> None:
        """Apply the same batch-dimension edit to every buffer."""
        if not self.is_initialized:
            return
        self._buffers = tuple(edit(buffer) for buffer in self._buffers)
        self._set_length(self._length)

    def reset(self) -> None:
        self._buffers = ()
        self._length = 0
        super().reset()


class GrowableLayer(BufferedLayer):
    """16-bit K/V: buffers (keys [B, N, capacity, D], values [B, N, capacity, D])."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        batch, heads, _, dim = key_states.shape
        self._buffers = (key_states.new_empty(batch, heads, 0, dim),
                         value_states.new_empty(batch, heads, 0, value_states.shape[-1]))
        self._set_length(0)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Append K/V [B, N, T, D]; return views of all cached K/V [B, N, S, D]."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        self._write((key_states, value_states))
        return self.keys, self.values

    def _set_length(self, length: int) -> None:
        self._length = length
        self.keys, self.values = (buffer[..., :length, :] for buffer in self._buffers)


def repeat_rows_with_room(states: torch.Tensor, repeats: int, capacity: int) -> torch.Tensor:
    """states [B, N, S, D] -> a new buffer [B * repeats, N, capacity, D] whose first S positions
    hold each row `repeats` times in a row (repeat_interleave order); one copy, no temporary."""
    batch, heads, length, dim = states.shape
    buffer = states.new_empty(batch * repeats, heads, capacity, dim)
    grouped = buffer.view(batch, repeats, heads, capacity, dim)
    grouped[..., :length, :] = states.unsqueeze(1)  # broadcast over the repeats
    return buffer


INT8_MAX = 127.0


def quantize_int8(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """states [B, N, T, D] -> (codes [B, N, T, D] int8, scales [B, N, T, 1] in states' dtype)."""
    scales = states.abs().amax(dim=-1, keepdim=True).to(torch.float32) / INT8_MAX
    scales = scales.clamp(min=torch.finfo(torch.float32).tiny)
    codes = (states.to(torch.float32) / scales).round().clamp(-INT8_MAX, INT8_MAX).to(torch.int8)
    return codes, scales.to(states.dtype)


def dequantize_int8(codes: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """codes [B, N, S, D] int8, scales [B, N, S, 1] -> [B, N, S, D] in scales' dtype."""
    return codes.to(scales.dtype) * scales


class Int8KVLayer(BufferedLayer):
    """One layer's cache: `keys`/`values` hold int8 codes, `key_scales`/`value_scales` their scales.

    The four tensors are views of the filled part of buffers with spare room (capacity >= length), so
    a decode step writes its token in place instead of re-concatenating the whole cache (as
    GrowableLayer does for 16-bit K/V). Buffers: codes [B, N, capacity, D], scales
    [B, N, capacity, 1]. Invariant: all four buffers share B, N and capacity, and all four views
    have length `_length` (every edit touches all four).
    """

    # [B, N, S, 1] scale views, None after reset() (typed like the base layer's keys/values)
    key_scales: Any
    value_scales: Any

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        batch, heads, _, dim = key_states.shape
        self._buffers = (
            torch.zeros((batch, heads, 0, dim), dtype=torch.int8, device=self.device),
            torch.zeros((batch, heads, 0, value_states.shape[-1]), dtype=torch.int8, device=self.device),
            torch.zeros((batch, heads, 0, 1), dtype=self.dtype, device=self.device),
            torch.zeros((batch, heads, 0, 1), dtype=self.dtype, device=self.device),
        )
        self._set_length(0)
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new K/V [B, N, T, D]; return the whole dequantized K/V [B, N, S, D].

        The generic path for models whose attention expects dense K/V; XVERSE attention calls
        `append` and reads the codes in place instead."""
        self.append(key_states, value_states)
        return dequantize_int8(self.keys, self.key_scales), dequantize_int8(self.values, self.value_scales)

    def append(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Quantize and write new K/V [B, N, T, D] at the end of the buffers; nothing is read back."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        key_codes, key_scales = quantize_int8(key_states)
        value_codes, value_scales = quantize_int8(value_states)
        self._write((key_codes, value_codes, key_scales, value_scales))

    def _set_length(self, length: int) -> None:
        self._length = length
        self.keys, self.values, self.key_scales, self.value_scales = (b[..., :length, :] for b in self._buffers)

    def reset(self) -> None:
        self.key_scales = self.value_scales = None
        super().reset()


class Int8KVCache(DynamicCache):
    """A DynamicCache whose layers store K/V in int8 with per-(row, head, token) scales."""

    def __init__(self) -> None:
        Cache.__init__(self, layer_class_to_replicate=Int8KVLayer)

    def layer(self, layer_idx: int) -> Int8KVLayer:
        """The layer `layer_idx`, created on first use (as `Cache.update` does)."""
        while len(self.layers) <= layer_idx:
            self.layers.append(Int8KVLayer())
        return self.layers[layer_idx]

    def __iter__(self):
        for layer in self.layers:
            yield (
                dequantize_int8(layer.keys, layer.key_scales),
                dequantize_int8(layer.values, layer.value_scales),
                None,
            )


def new_cache(config: Any, bits: int) -> Cache:
    """An empty cache for `config` whose K/V are stored with `bits` (8 or 16) bits.

    16-bit: a DynamicCache of GrowableLayers when the config's layers are plain full-attention
    layers, else the DynamicCache transformers builds for the config (sliding windows etc.).
    """
    if bits == 8:
        return Int8KVCache()
    if bits != 16:
        raise ValueError(f"kv cache bits must be 8 or 16, got {bits}")
    try:
        cache = DynamicCache(config=config)
    except (ValueError, TypeError, AttributeError):
        return DynamicCache()
    if cache.layers and all(type(layer) is DynamicLayer for layer in cache.layers):
        cache.layers = [GrowableLayer() for _ in cache.layers]
    return cache
