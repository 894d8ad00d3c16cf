"""The static cache of N branches of one prompt: the prompt held once, in the batch-1 static cache.

Branches continue one prompt, so on the static (graph-captured) path the prompt's P positions need
not be copied into N rows either. `SharedPromptStaticCache` keeps each row's own tokens in its
buffers and reads the prompt in place from `prompt`, the batch-1 StaticKVCache the prompt was
prefilled into (its first P positions; nothing here writes them). A step merges the two
attentions by their log-sum-exps (`shared_prefix.attend_prompt_and_own`), exactly one softmax over
prompt + own tokens. Everything the step needs is on the device: `length` is the full position
(P + own tokens, for RoPE), `prompt_length` is P, so a step writes at `length - prompt_length`.

Windows: a step reads the first `prompt_window` positions of the prompt buffers (mask: < P) and the
first `window` positions of its own (mask: <= own length); captured graphs use fixed windows of
both, so a graph is identified by the pair.

Rows of every batch size (2..MAX_GRAPH_BATCH) are views of one storage of the largest batch, so
`copy_rows_from` compacts in place and the branch states cost one buffer, not one per size.
`hand_row_to_prompt` appends one row's own tokens after the prompt in the batch-1 cache: a branch
request ends as an ordinary batch-1 cache of prompt + that row, the prompt never copied.
Buffers: own tokens 16-bit [N, Nkv, capacity, D] (or int8 codes + scales [N, Nkv, capacity, 1]).
"""

from __future__ import annotations

from collections.abc import Hashable

import torch

from app.engine.shared_prefix import attend_part, attend_prompt_and_own
from app.engine.static_cache import StaticKVCache


class SharedPromptStaticCache(StaticKVCache):
    """N rows' own tokens (this cache's buffers) after a prompt kept once in `prompt` (batch 1)."""

    def __init__(self, prompt: StaticKVCache, rows: int, storage: list[tuple[torch.Tensor, ...]]) -> None:
        """`storage`: per layer, buffers of at least `rows` rows, shaped like `prompt`'s but for
        their own capacity; this cache uses their first `rows` rows (views)."""
        capacity = storage[0][0].shape[2]
        views = [tuple(buffer[:rows] for buffer in layer) for layer in storage]
        super().__init__(len(storage), rows, 0, 0, capacity, dtype=storage[0][-1].dtype,
                         device=storage[0][0].device, bits=prompt.bits, buffers=views)
        self.prompt = prompt
        self.prompt_length = torch.zeros((), dtype=torch.long, device=self.length.device)
        self.host_prompt_length = 0
        self.prompt_window = prompt.capacity
        self.prompt_mask: torch.Tensor | None = None  # [1, 1, 1, prompt_window]

    @property
    def own_length(self) -> int:
        """Tokens each row has after the prompt (host mirror)."""
        return self.host_length - self.host_prompt_length

    def start(self) -> None:
        """Begin a request on the prompt now in `prompt` (its host length): no own tokens yet."""
        self.host_prompt_length = self.host_length = self.prompt.host_length
        self.prompt_length.fill_(self.host_prompt_length)
        self.length.fill_(self.host_length)

    def choose_windows(self, graphed: bool) -> Hashable:
        prompt, own = self.host_prompt_length, self.own_length + 1
        self.prompt_window = self.prompt.graph_window(prompt) if graphed else prompt
        self.set_window(self.graph_window(own) if graphed else own)
        return self.prompt_window, self.window

    def set_window(self, window: int) -> None:
        if not self.own_length < window <= self.capacity:
            raise ValueError(f"a window of {window} does not cover own position {self.own_length}")
        if not self.host_prompt_length <= self.prompt_window <= self.prompt.capacity:
            raise ValueError(f"a prompt window of {self.prompt_window} does not cover {self.host_prompt_length}")
        self.window = window

    def begin_step(self) -> None:
        own = self.length - self.prompt_length
        self.mask = (self.positions[: self.window] <= own)[None, None, None, :]
        self.prompt_mask = (self.prompt.positions[: self.prompt_window] < self.prompt_length)[None, None, None, :]

    def write(self, layer_idx: int, key: torch.Tensor, value: torch.Tensor) -> None:
        """key/value [N, Nkv, 1, D] at own position `length - prompt_length` (no host read)."""
        self._write_at(layer_idx, (self.length - self.prompt_length).view(1), key, value)

    def attend(self, layer_idx: int, query: torch.Tensor, gqa: bool) -> torch.Tensor:
        """query [N, Nq, 1, D] over the prompt (read once for all rows) and each row's own tokens."""
        prompt = tuple(buffer[:, :, : self.prompt_window] for buffer in self.prompt.buffers[layer_idx])
        own = tuple(buffer[:, :, : self.window] for buffer in self.buffers[layer_idx])
        kv_heads = own[0].shape[1]
        return attend_prompt_and_own(query, kv_heads, lambda stacked: attend_part(stacked, prompt, self.prompt_mask),
                                     lambda grouped: attend_part(grouped, own, self.mask))

    def copy_rows_from(self, other: SharedPromptStaticCache, keep: torch.Tensor) -> None:
        """Rows `keep` of `other` (a shared cache with more rows, possibly the same storage)."""
        assert other.prompt is self.prompt
        own = other.own_length
        for mine, theirs in zip(self.buffers, other.buffers):
            for buffer, source in zip(mine, theirs):
                buffer[:, :, :own] = source[keep.to(source.device), :, :own]  # indexing copies first
        self.prompt_length.copy_(other.prompt_length)
        self.length.copy_(other.length)
        self.host_prompt_length, self.host_length = other.host_prompt_length, other.host_length

    def hand_row_to_prompt(self, row: int) -> None:
        """Row `row`'s own tokens into the prompt cache after the prompt: it then holds prompt + that
        row as an ordinary batch-1 cache (the prompt itself is not touched)."""
        start, own = self.host_prompt_length, self.own_length
        for prompt_buffers, own_buffers in zip(self.prompt.buffers, self.buffers):
            for buffer, source in zip(prompt_buffers, own_buffers):
                buffer[:, :, start : start + own] = source[row : row + 1, :, :own]
        self.prompt.length.fill_(self.host_length)
        self.prompt.host_length = self.host_length
