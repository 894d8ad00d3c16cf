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


class GrowableLayer(DynamicLayer):
    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._key_buffer: torch.Tensor | None = None
        self._value_buffer: torch.Tensor | None = None
        self._length = 0

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Append K/V [B, N, T, D]; return views of all cached K/V [B, N, S, D]."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self._length + key_states.shape[-2]
        if self._key_buffer is None or end > self._key_buffer.shape[-2]:
            self._grow(key_states, value_states, end)
        self._key_buffer[..., self._length : end, :] = key_states
        self._value_buffer[..., self._length : end, :] = value_states
        self._set_length(end)
        return self.keys, self.values

    def _grow(self, key_states: torch.Tensor, value_states: torch.Tensor, needed: int) -> None:
        capacity = needed + max(MIN_HEADROOM, needed // 4)
        batch, heads, _, dim = key_states.shape
        keys = key_states.new_empty(batch, heads, capacity, dim)
        values = value_states.new_empty(batch, heads, capacity, value_states.shape[-1])
        if self._length:
            keys[..., : self._length, :] = self.keys
            values[..., : self._length, :] = self.values
        self._key_buffer, self._value_buffer = keys, values

    def _set_length(self, length: int) -> None:
        self._length = length
        self.keys = self._key_buffer[..., :length, :]
        self.values = self._value_buffer[..., :length, :]

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
            capacity = max(self._key_buffer.shape[-2], self._length + MIN_HEADROOM)
            self._key_buffer = repeat_rows_with_room(self.keys, repeats, capacity)
            self._value_buffer = repeat_rows_with_room(self.values, repeats, capacity)
            self._set_length(self._length)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.get_seq_length() > 0:
            self._key_buffer = self._key_buffer[indices, ...]
            self._value_buffer = self._value_buffer[indices, ...]
            self._set_length(self._length)

    def reset(self) -> None:
        self._key_buffer = self._value_buffer = None
        self._length = 0
        super().reset()


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
