"""A 16-bit KV cache that appends in place instead of re-concatenating the whole cache every step.

`DynamicLayer.update` does `torch.cat([keys, new])`, copying all S cached tokens for every new
token: at 2K tokens and 4 branches that copy costs about as much as the attention itself.
`GrowableLayer` keeps K/V in buffers with spare room and writes new tokens into them; `keys` /
`values` are views of the filled part. Shapes: buffers [B, N, capacity, D]; keys/values
[B, N, length, D]. Crop only shortens `length` (the stale tail is overwritten by later writes).

Used by the engine only for models whose default cache is a plain full-attention DynamicCache;
sliding-window layers keep transformers' classes; the int8 cache (kv_cache_bits=8, kv_cache.py) grows
in place the same way with its own buffers.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

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


def new_growable_cache(config: Any) -> DynamicCache | None:
    """A DynamicCache of GrowableLayers for `config`, or None when its layers are not plain
    full-attention layers (or the model asks for the int8 cache): the model then builds its own."""
    if getattr(config, "kv_cache_bits", 16) != 16:
        return None
    try:
        cache = DynamicCache(config=config)
    except (ValueError, TypeError, AttributeError):
        return None
    if not cache.layers or any(type(layer) is not DynamicLayer for layer in cache.layers):
        return None
    cache.layers = [GrowableLayer() for _ in cache.layers]
    return cache
