"""Reuse of the last call's KV cache across calls, keyed by the token ids it covers.

Invariant: when a cache is held, `len(self._ids) == cache.get_seq_length()` and the cache has
batch size 1. `take()` hands the cache over (the holder forgets it, so no second copy lives on the
device) cropped to the longest common prefix with the new prompt, always leaving at least one
prompt token to prefill: a cache covering the whole input gives wrong output. Crop uses
transformers 5 semantics: `cache.crop(-n)` drops the last n tokens.

Only caches whose every layer is croppable and not sliding-window are held: a sliding layer past
its window has already dropped tokens the prefix needs, so cropping it cannot give back a valid
prefix. If a crop still fails, `take` returns no cache and the caller prefills from cold. A cache
that is a view of someone else's buffers says whether it still holds what it did (`still_valid`,
set by StaticKVCache.as_dynamic); a stale one is refused the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def is_reusable(cache: Any) -> bool:
    """True for a layered cache whose layers can all be cropped back to any prefix (no sliding window)."""
    layers = getattr(cache, "layers", None)
    if not layers:
        return False
    return all(
        getattr(layer, "is_croppable", False) and not getattr(layer, "is_sliding", False)
        and callable(getattr(layer, "crop", None))
        for layer in layers
    )


class PrefixCache:
    def __init__(self) -> None:
        self._cache: Any = None
        self._ids: list[int] = []

    @property
    def cached_tokens(self) -> int:
        return len(self._ids) if self._cache is not None else 0

    def take(self, prompt_ids: Sequence[int]) -> tuple[Any, int]:
        """Return (cache cropped to the reusable prefix, its length) or (None, 0); the holder empties."""
        cache, ids = self._cache, self._ids
        self.clear()
        if cache is None or not getattr(cache, "still_valid", lambda: True)():
            return None, 0  # (a view of static buffers that another request has since rewritten)
        reusable = min(common_prefix_length(ids, prompt_ids), len(prompt_ids) - 1)
        if reusable <= 0:
            return None, 0
        surplus = cache.get_seq_length() - reusable
        if surplus > 0:
            try:
                cache.crop(-surplus)
            except Exception:  # noqa: BLE001 - a cache that cannot be cropped is dropped: prefill cold
                return None, 0
        return cache, reusable

    def keep(self, cache: Any, ids: Sequence[int]) -> None:
        """Hold a batch-1 cache covering exactly `ids`."""
        if cache is None or not is_reusable(cache) or cache.get_seq_length() != len(ids):
            self.clear()
            return
        self._cache, self._ids = cache, list(ids)

    def clear(self) -> None:
        self._cache, self._ids = None, []
