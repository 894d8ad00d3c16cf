"""Decode steps on a static KV cache, replayed as one CUDA graph per live batch size (eager elsewhere).

`StaticDecoder` keeps, per batch size B (1..MAX_GRAPH_BATCH), a StaticKVCache of `capacity`
tokens, a static input-ids buffer and (on CUDA) captured graphs of one model forward, one per
attention window (StaticKVCache.graph_window: a step at 300 tokens of context reads 512 positions,
not the whole capacity); the graphs share one memory pool (they never run at once). A request:
`begin(cache, rows)` copies the prefilled dynamic cache in, `step(ids)` runs one token per row
(graph replay, or the same forward eagerly), `compact(keep)` moves the live rows into the state of
the smaller batch size when a branch finishes, `end()` hands row 0 back as a dynamic cache for
the prefix cache. A batch-1 request prefills into `prefill_cache()`, a view of the batch-1 static
buffers, and `end()` hands back such a view: the prompt's K/V are never held twice.
Capture happens on first use of a batch size and is reused by later requests;
where capture fails (or the device is not CUDA) the step runs eagerly, and `describe()` says so.
Sampling stays outside the graph (eager, on the device, no host read).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from app.engine.static_cache import StaticKVCache

MAX_GRAPH_BATCH = 4
WARMUP_STEPS = 2
log = logging.getLogger(__name__)


@dataclass
class _BatchState:
    cache: StaticKVCache
    embeds: torch.Tensor  # [B, 1, H], the graphs' input (the embedding lookup runs outside them:
    # the input embedding may live in CPU RAM)
    graphs: dict[int, Any] = field(default_factory=dict)  # window -> torch.cuda.CUDAGraph
    logits: dict[int, torch.Tensor] = field(default_factory=dict)  # window -> [B, V], that graph's output
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

    def fits(self, tokens: int, rows: int) -> bool:
        """Whether a request of `tokens` (prompt + new) at `rows` can run here; on CUDA a batch size
        whose static cache is not allocated yet must fit in free memory."""
        if rows > MAX_GRAPH_BATCH or tokens >= self.capacity:
            return False
        if rows in self.states or not torch.cuda.is_available() or not self.use_graphs:
            return True
        from app.engine.memory_estimate import kv_cache_bytes

        need = kv_cache_bytes(self.model.config, self.capacity, self.bits, batch=rows)
        return need < 0.8 * torch.cuda.mem_get_info()[0]

    def describe(self) -> str:
        captured = sorted(b for b, s in self.states.items() if s.graphs)
        if not self.use_graphs:
            return "static cache, eager (CUDA graphs need a CUDA device)"
        failed = [f"batch {b}: {s.failed}" for b, s in self.states.items() if s.failed]
        text = f"cuda-graph (captured for batch {captured})" if captured else "cuda-graph (captured on first use)"
        return text + (f"; eager for {'; '.join(failed)}" if failed else "")

    def prefill_cache(self) -> Any:
        """An empty dynamic cache that writes into the batch-1 static buffers (None where the model's
        cache cannot be viewed so): prefilling into it, a batch-1 request copies nothing at begin."""
        return self._state(1).cache.as_dynamic(self.model.config)

    def begin(self, cache: Any, rows: int) -> None:
        state = self._state(rows)
        state.cache.load(cache, rows)
        self.active = rows

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B] -> logits [B, V] float32 (a fresh tensor: the graph's buffer is reused)."""
        state = self.states[self.active]
        embedding = self.model.get_input_embeddings()
        state.embeds.copy_(embedding(ids.view(-1, 1).to(embedding.weight.device)))
        cache = state.cache
        graphed = self.use_graphs and not state.failed
        window = cache.graph_window(cache.host_length + 1) if graphed else cache.host_length + 1
        cache.set_window(window)
        if graphed and window not in state.graphs:
            self._capture(state, window)
        if window in state.graphs:
            state.graphs[window].replay()
            logits = state.logits[window]
        else:
            logits = self._forward(state)
        cache.host_length += 1
        return logits.float().clone()

    def compact(self, keep: torch.Tensor) -> None:
        rows = int(keep.numel())
        source = self.states[self.active].cache
        self._state(rows).cache.copy_rows_from(source, keep)
        self.active = rows

    def end(self) -> Any:
        """Row 0 for the prefix cache: at batch 1 a view of the static buffers themselves (no copy),
        else a copy of the row."""
        static = self.states[self.active].cache
        view = static.as_dynamic(self.model.config, static.host_length) if self.active == 1 else None
        self.active = 0
        return view if view is not None else static.to_dynamic(self.model.config)

    def abandon(self) -> None:
        self.active = 0

    def _state(self, rows: int) -> _BatchState:
        if rows not in self.states:
            config, parameter = self.model.config, next(self.model.parameters())
            dtype = parameter.dtype if parameter.is_floating_point() else torch.bfloat16
            device = self.model.lm_head.weight.device
            cache = StaticKVCache(config.num_hidden_layers, rows, config.num_key_value_heads, config.head_dim,
                                  self.capacity, dtype=dtype, device=device, bits=self.bits)
            embeds = torch.zeros(rows, 1, config.hidden_size, dtype=dtype, device=device)
            self.states[rows] = _BatchState(cache, embeds)
        return self.states[rows]

    def _forward(self, state: _BatchState) -> torch.Tensor:
        with torch.no_grad():
            return self.model(inputs_embeds=state.embeds, cache=state.cache, logits_to_keep=1).logits[:, -1, :]

    def _capture(self, state: _BatchState, window: int) -> None:
        """Warm up on a side stream, then capture one forward over `window` keys; the length is
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
                state.logits[window] = self._forward(state)
            state.cache.length.copy_(saved)
            state.graphs[window] = graph
            log.info("decode step captured as a CUDA graph for batch %d, window %d", state.embeds.shape[0], window)
        except Exception as error:  # noqa: BLE001 - any capture failure falls back to eager
            state.failed = f"{type(error).__name__}: {error}"[:200]
            state.graphs.pop(window, None)
            state.cache.set_window(state.cache.host_length + 1)  # eager from now on: the exact length
            log.warning("CUDA graph capture failed for batch %d, decoding eagerly: %s", state.embeds.shape[0],
                        state.failed)
