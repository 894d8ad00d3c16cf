"""Decode steps on a static KV cache, replayed as one CUDA graph per live batch size (eager elsewhere).

`StaticDecoder` keeps, per batch size B (1..MAX_GRAPH_BATCH), a static cache, a static input
buffer and (on CUDA) captured graphs of one model forward, one per attention window
(StaticKVCache.graph_window: a step at 300 tokens of context reads 512 positions, not the whole
capacity); the graphs share one memory pool (they never run at once).
Batch 1 is a StaticKVCache of `capacity` tokens. Every request prefills into `prefill_cache()`, a
view of its buffers, so `begin(cache, rows)` usually copies nothing. Branches (B > 1) are
SharedPromptStaticCaches (app/engine/static_branches.py): each row's own tokens in buffers of
`branch_capacity` (one storage for every B) and the prompt read in place from the batch-1
buffers, never copied into B rows. `step(ids)` runs one token per row (graph replay, or the same
forward eagerly); `compact(keep)` moves the live rows into the smaller batch size when a branch
finishes (the last row goes back into the batch-1 buffers, after the prompt); `end()` hands row 0
back for the prefix cache as a view of the batch-1 buffers: the prompt's K/V are never held twice.
Capture happens on first use of a batch size and windows, and is reused by later requests (at 8K
at most 6 windows at batch 1 and 6 x 4 (prompt x own) per branch size: each costs two warm-up
steps and a capture, once; `drop_graphs()` forgets them when the model's modules change);
where capture fails (or the device is not CUDA) the step runs eagerly, and `describe()` says so.
Sampling stays outside the graph (eager, on the device, no host read).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import torch

from app.engine.static_branches import SharedPromptStaticCache
from app.engine.static_cache import StaticKVCache, new_static_buffers

MAX_GRAPH_BATCH = 4
MIN_BRANCH_CAPACITY = 2048  # own tokens per branch row, at least (see branch_capacity)
WARMUP_STEPS = 2
log = logging.getLogger(__name__)


@dataclass
class _BatchState:
    cache: StaticKVCache
    embeds: torch.Tensor  # [B, 1, H], the graphs' input (the embedding lookup runs outside them:
    # the input embedding may live in CPU RAM)
    graphs: dict[Hashable, Any] = field(default_factory=dict)  # windows -> torch.cuda.CUDAGraph
    logits: dict[Hashable, torch.Tensor] = field(default_factory=dict)  # windows -> [B, V], that graph's output
    failed: str = ""


@dataclass
class StaticDecoder:
    model: Any
    capacity: int
    bits: int = 16
    use_graphs: bool = True
    states: dict[int, _BatchState] = field(default_factory=dict)
    active: int = 0  # batch size of the request in progress (0: none)
    notes: list[str] = field(default_factory=list)
    pool: Any = None  # the captured graphs' shared memory pool
    branch_storage: list[tuple[torch.Tensor, ...]] | None = None  # branch rows' buffers, all batch sizes

    def fits(self, prompt_tokens: int, new_tokens: int, rows: int) -> bool:
        """Whether a request of `prompt_tokens` + `new_tokens` at `rows` can run here: the batch-1
        cache holds prompt + new tokens, and branches' own tokens fit their buffers; on CUDA the
        buffers not allocated yet must fit in free memory."""
        if rows > MAX_GRAPH_BATCH or prompt_tokens + new_tokens >= self.capacity:
            return False
        if rows > 1 and new_tokens >= self.branch_capacity:
            return False
        if not torch.cuda.is_available() or not self.use_graphs:
            return True
        from app.engine.memory_estimate import kv_cache_bytes

        config = self.model.config
        need = 0 if 1 in self.states else kv_cache_bytes(config, self.capacity, self.bits, batch=1)
        if rows > 1 and self.branch_storage is None:
            need += kv_cache_bytes(config, self.branch_capacity, self.bits, batch=MAX_GRAPH_BATCH)
        return need < 0.8 * torch.cuda.mem_get_info()[0]

    @property
    def branch_capacity(self) -> int:
        """Own tokens each branch row has room for: a quarter of the context, at least 2,048."""
        return min(self.capacity, max(MIN_BRANCH_CAPACITY, self.capacity // 4))

    def describe(self) -> str:
        captured = sorted(b for b, s in self.states.items() if s.graphs)
        if not self.use_graphs:
            return "static cache, eager (CUDA graphs need a CUDA device)"
        failed = [f"batch {b}: {s.failed}" for b, s in self.states.items() if s.failed]
        text = f"cuda-graph (captured for batch {captured})" if captured else "cuda-graph (captured on first use)"
        return text + (f"; eager for {'; '.join(failed)}" if failed else "")

    def prefill_cache(self) -> Any:
        """An empty dynamic cache that writes into the batch-1 static buffers (None where the model's
        cache cannot be viewed so): prefilling into it, a request copies nothing at begin."""
        prompt = self._state(1).cache
        prompt.claim()  # a new prompt goes in: views kept before hold other contents from now on
        return prompt.as_dynamic(self.model.config)

    def begin(self, cache: Any, rows: int) -> None:
        """Decode `rows` rows from the prefilled one-row `cache`: it goes into the batch-1 buffers
        (nothing is copied when it is their prefill_cache view); branches read it there."""
        prompt = self._state(1).cache
        if not prompt.aliases(cache):
            prompt.claim()  # copied in over whatever an older view showed
        prompt.load(cache, 1)
        if rows > 1:
            branches = self._state(rows).cache
            assert isinstance(branches, SharedPromptStaticCache)
            branches.start()
        self.active = rows

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B] -> logits [B, V] float32 (a fresh tensor: the graph's buffer is reused)."""
        state = self.states[self.active]
        embedding = self.model.get_input_embeddings()
        state.embeds.copy_(embedding(ids.view(-1, 1).to(embedding.weight.device)))
        cache = state.cache
        graphed = self.use_graphs and not state.failed
        windows = cache.choose_windows(graphed)
        if graphed and windows not in state.graphs:
            self._capture(state, windows)
        if windows in state.graphs:
            state.graphs[windows].replay()
            logits = state.logits[windows]
        else:
            logits = self._forward(state)
        cache.host_length += 1
        return logits.float().clone()

    def compact(self, keep: torch.Tensor, kept_rows: list[int]) -> None:
        """Keep the rows `keep` (finished branches leave; `kept_rows` the same on the host); one row
        left continues as batch 1."""
        rows = len(kept_rows)
        source = self.states[self.active].cache
        assert isinstance(source, SharedPromptStaticCache)
        if rows == 1:
            source.hand_row_to_prompt(kept_rows[0])
        else:
            smaller = self._state(rows).cache
            assert isinstance(smaller, SharedPromptStaticCache)
            smaller.copy_rows_from(source, keep)
        self.active = rows

    def end(self) -> Any:
        """Row 0 for the prefix cache: a view of the batch-1 buffers, which then hold the prompt and
        that row's tokens (no copy of the prompt), or a copy where the model's cache cannot be viewed."""
        static = self.states[self.active].cache
        if isinstance(static, SharedPromptStaticCache):
            static.hand_row_to_prompt(0)
        prompt = self.states[1].cache
        view = prompt.as_dynamic(self.model.config, prompt.host_length)
        self.active = 0
        return view if view is not None else prompt.to_dynamic(self.model.config)

    def abandon(self) -> None:
        self.active = 0

    def drop_graphs(self) -> None:
        """Forget every captured graph (the model's modules changed, e.g. a LoRA adapter was
        switched): the next steps capture again from the model as it is now."""
        for state in self.states.values():
            state.graphs.clear()
            state.logits.clear()
            state.failed = ""

    def _state(self, rows: int) -> _BatchState:
        if rows not in self.states:
            config, parameter = self.model.config, next(self.model.parameters())
            dtype = parameter.dtype if parameter.is_floating_point() else torch.bfloat16
            device = self.model.lm_head.weight.device
            cache: StaticKVCache
            if rows == 1:
                cache = StaticKVCache(config.num_hidden_layers, 1, config.num_key_value_heads, config.head_dim,
                                      self.capacity, dtype=dtype, device=device, bits=self.bits)
            else:
                if self.branch_storage is None:  # one storage for every branch batch size
                    shape = (MAX_GRAPH_BATCH, config.num_key_value_heads, self.branch_capacity, config.head_dim)
                    self.branch_storage = new_static_buffers(config.num_hidden_layers, shape, dtype=dtype,
                                                             device=device, bits=self.bits)
                cache = SharedPromptStaticCache(self._state(1).cache, rows, self.branch_storage)
            embeds = torch.zeros(rows, 1, config.hidden_size, dtype=dtype, device=device)
            self.states[rows] = _BatchState(cache, embeds)
        return self.states[rows]

    def _forward(self, state: _BatchState) -> torch.Tensor:
        with torch.no_grad():
            return self.model(inputs_embeds=state.embeds, cache=state.cache, logits_to_keep=1).logits[:, -1, :]

    def _capture(self, state: _BatchState, windows: Hashable) -> None:
        """Warm up on a side stream, then capture one forward over the chosen windows; the length is
        restored after the warm-up steps (they wrote K/V only at the next free position, which the
        real step rewrites)."""
        try:
            saved = state.cache.length.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(WARMUP_STEPS):
                    self._forward(state)
                    state.cache.length.copy_(saved)
            torch.cuda.current_stream().wait_stream(stream)
            if self.pool is None:
                self.pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                state.logits[windows] = self._forward(state)
            state.cache.length.copy_(saved)
            state.graphs[windows] = graph
            log.info("decode step captured as a CUDA graph for batch %d, windows %s", state.embeds.shape[0], windows)
        except Exception as error:  # noqa: BLE001 - any capture failure falls back to eager
            state.failed = f"{type(error).__name__}: {error}"[:200]
            state.graphs.pop(windows, None)
            state.cache.choose_windows(graphed=False)  # eager from now on: the exact lengths
            log.warning("CUDA graph capture failed for batch %d, decoding eagerly: %s", state.embeds.shape[0],
                        state.failed)
