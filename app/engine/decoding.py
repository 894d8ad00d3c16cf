"""One request's generation on a local causal LM: one prefill, N branches decoded as one batch.

Flow: take the reusable prefix of the last call's KV cache, prefill the rest of the prompt in
chunks (cancel is checked between chunks), sample the first token of every branch from the last
position's logits [1, V] expanded to [N, V], repeat the cache N times, then decode the live rows
together. Sampling stays on the device and the sampled ids are read back one step behind: step
t+1's forward is queued before step t's ids are read for streaming and stop checks, so the one
host read per step overlaps device work (a finished row has then been fed one token more; it is
compacted out with `batch_select_indices` before the next step). Afterwards one surviving row's
cache (prompt + the tokens it fed) is kept for the next call. The KV width is passed explicitly
(`kv_cache_bits`), never read from the model config.

Model calls run under `torch.no_grad()` (not inference_mode: the cache must stay usable across
calls) and never across a `yield`, so grad mode does not leak into the consumer's code.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from app.engine.graph_decode import StaticDecoder
from app.engine.kv_cache import new_cache
from app.engine.prefix_cache import PrefixCache
from app.engine.shared_prefix import SharedPrefixCache
from app.engine.sampling import TokenSampler
from app.engine.streaming import BranchText
from app.engine.types import Chunk, Done, Event, FinishReason, GenerationRequest
from messages import Message


class _Branch:
    def __init__(self, index: int, tokenizer: Any, stops: Sequence[str]) -> None:
        self.index = index
        self.text = BranchText(tokenizer, stops)
        self.finish: FinishReason | None = None

    @property
    def tokens(self) -> int:
        return len(self.text.ids)


@dataclass
class DecodeStats:
    """What the last generation's decode loop did (read by benchmarks/engine_gpu.py)."""

    steps: int = 0  # decode forwards run
    host_reads: int = 0  # sampled-id reads (the one host sync per step)
    read_wait_s: float = 0.0  # time spent blocked in those reads (device still computing)
    decode_s: float = 0.0  # wall time of the decode loop


class BranchDecode:
    """Runs one GenerationRequest; `events()` yields Chunk/Done with exactly one Done per branch, last."""

    def __init__(self, model: Any, tokenizer: Any, *, prefix: PrefixCache, eos_ids: frozenset[int],
                 request: GenerationRequest, prompt_ids: list[int], max_new_tokens: int,
                 cancel: threading.Event, prefill_chunk_tokens: int, kv_cache_bits: int = 16,
                 stats: DecodeStats | None = None, static: StaticDecoder | None = None) -> None:
        self._model, self._prefix, self._eos_ids = model, prefix, eos_ids
        self._request, self._prompt_ids, self._cancel = request, prompt_ids, cancel
        self._max_new_tokens, self._chunk = max_new_tokens, prefill_chunk_tokens
        self._kv_bits, self._stats = kv_cache_bits, stats if stats is not None else DecodeStats()
        self._cache_keyword = cache_keyword(model)
        fits = static is not None and static.fits(len(prompt_ids), max_new_tokens, request.n)
        self._static = static if fits else None  # decode steps on the static cache (graph replays)
        self._on_static = False
        self._branches = [_Branch(i, tokenizer, request.stop) for i in range(request.n)]
        self._cache: Any = None
        self._cache_rows = 1  # batch size of self._cache
        self._fed: list[list[int]] = [[] for _ in range(request.n)]  # per branch: tokens fed after the prompt

    def events(self) -> Iterator[Event]:
        try:
            logits = self._prefill()
            if logits is None:
                yield from self._finish_all("cancelled")
                return
            yield from self._decode(logits)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Done(error) per branch
            self._prefix.clear()
            self._cache = None
            if self._static is not None:
                self._static.abandon()
            failed = Message("engine.generation_failed", detail=f"{type(exc).__name__}: {exc}")
            yield from self._finish_all("error", failed)

    def _forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [rows, T] -> last-position logits [rows, V] float32; extends self._cache."""
        with torch.no_grad():
            out = self._model(input_ids=input_ids, use_cache=True, logits_to_keep=1,
                              **{self._cache_keyword: self._cache})
        self._cache = output_cache(out)
        return out.logits[:, -1, :].float()

    def _prefill(self) -> torch.Tensor | None:
        """Prefill what the prefix cache does not cover; None when cancelled (the partial cache is kept)."""
        self._cache, start = self._prefix.take(self._prompt_ids)
        if self._cache is None and self._static is not None:
            self._cache = self._static.prefill_cache()  # the batch-1 static buffers: no copy at begin
        if self._cache is None:
            self._cache = new_cache(self._model.config, self._kv_bits)
        device = self._model.device
        logits = None
        while start < len(self._prompt_ids):
            if self._cancel.is_set():
                self._prefix.keep(self._cache, self._prompt_ids[:start])
                return None
            end = min(start + self._chunk, len(self._prompt_ids))
            chunk = torch.tensor([self._prompt_ids[start:end]], dtype=torch.long, device=device)  # [1, T]
            logits = self._forward(chunk)  # [1, V]
            start = end
        return logits

    def _decode(self, logits: torch.Tensor) -> Iterator[Event]:
        """Sample on the device, queue the next forward, and only then read the sampled ids (one
        step behind): the single host read per step overlaps the next step's device work."""
        n, vocab = self._request.n, logits.shape[-1]
        sampler = TokenSampler(self._request.sampling, self._request.seed, logits.device, branches=n)
        prompt = torch.tensor([i for i in self._prompt_ids if i < vocab], dtype=torch.long, device=logits.device)
        seen = torch.zeros(1, vocab, dtype=torch.bool, device=logits.device)
        seen[0, prompt] = True  # ids filtered on the host: a boolean mask here would be a device sync
        logits, seen = logits.expand(n, vocab), seen.expand(n, vocab).clone()  # [N, V] each
        rows = list(range(n))  # row -> branch index
        eos = (torch.tensor(sorted(i for i in self._eos_ids if i < vocab), dtype=torch.long, device=logits.device)
               if self._request.min_new_tokens else None)  # built only when a minimum is asked for
        started, step = time.perf_counter(), 0
        while True:
            with torch.no_grad():
                if eos is not None and step < self._request.min_new_tokens and eos.numel():  # rows share `step`
                    logits = logits.index_fill(1, eos, float("-inf"))
                tokens = sampler.select(logits, seen, rows)  # [rows], stays on the device
                seen[torch.arange(len(rows), device=seen.device), tokens] = True
            step += 1
            ahead, failure = self._run_ahead(rows, tokens)
            token_list = self._read(tokens)
            if ahead is not None:
                for branch_index, token in zip(rows, token_list):
                    self._fed[branch_index].append(token)
            events, live = self._advance(rows, token_list)
            yield from events
            if failure is not None:
                raise failure
            if not live:
                break
            if self._cancel.is_set() or ahead is None:
                yield from self._finish_all("cancelled")
                break
            if len(live) < len(rows):  # a branch finished: compact its row out of every tensor
                keep = torch.tensor(live, dtype=torch.long, device=tokens.device)
                ahead, seen = ahead[keep], seen[keep]
                if self._static is not None and self._on_static:
                    self._static.compact(keep, live)
                else:
                    self._cache.batch_select_indices(keep)
                self._cache_rows = len(live)
                rows = [rows[r] for r in live]
            logits = ahead
        self._stats.decode_s += time.perf_counter() - started
        self._keep_prefix(rows[0])

    def _run_ahead(self, rows: list[int], tokens: torch.Tensor) -> tuple[torch.Tensor | None, Exception | None]:
        """Feed this step's tokens [rows] before they are read -> (next logits [rows, V] or None
        when no row can continue or cancel is set, the failure if the forward raised)."""
        if self._cancel.is_set() or all(self._branches[b].tokens + 1 >= self._max_new_tokens for b in rows):
            return None, None
        try:
            logits = self._step(rows, tokens)
        except Exception as error:  # noqa: BLE001 - raised after this step's tokens are streamed
            return None, error
        self._stats.steps += 1
        return logits, None

    def _step(self, rows: list[int], tokens: torch.Tensor) -> torch.Tensor:
        """One decode forward, tokens [rows] -> logits [rows, V], on the static decoder when it
        runs this request (the prompt cache is copied in at the first step), else the dynamic cache."""
        if self._static is not None:
            if not self._on_static:
                self._static.begin(self._cache, len(rows))
                self._on_static, self._cache, self._cache_rows = True, None, len(rows)
            return self._static.step(tokens)
        if self._cache_rows == 1 and len(rows) > 1:  # still the one-row prompt cache
            self._cache = self._branch_cache(len(rows))
            self._cache_rows = len(rows)
        return self._forward(tokens.unsqueeze(1))  # [rows, 1] -> [rows, V]

    def _branch_cache(self, rows: int) -> Any:
        """The prompt cache for `rows` branches: the prompt's K/V shared by all rows where the model
        can attend that way (app/engine/shared_prefix.py), else one copy per row."""
        if getattr(self._model, "shares_prompt_across_branches", False) and SharedPrefixCache.can_share(self._cache):
            return SharedPrefixCache(self._cache)
        self._cache.batch_repeat_interleave(rows)
        return self._cache

    def _read(self, tokens: torch.Tensor) -> list[int]:
        """The one host read per step (text must be streamed and stops checked)."""
        started = time.perf_counter()
        token_list = tokens.tolist()
        self._stats.host_reads += 1
        self._stats.read_wait_s += time.perf_counter() - started
        return token_list

    def _advance(self, rows: list[int], token_list: list[int]) -> tuple[list[Event], list[int]]:
        """Push one token per row into its branch; return the events and the rows still live."""
        events: list[Event] = []
        live: list[int] = []
        for row, (branch_index, token) in enumerate(zip(rows, token_list)):
            branch = self._branches[branch_index]
            if token in self._eos_ids:
                events.extend(self._finish(branch, "stop"))
                continue
            text = branch.text.push(token)
            if text:
                events.append(Chunk(branch_index, text))
            if branch.text.stopped:
                events.extend(self._finish(branch, "stop"))
            elif branch.tokens >= self._max_new_tokens:
                events.extend(self._finish(branch, "length"))
            else:
                live.append(row)
        return events, live

    def _keep_prefix(self, branch_index: int) -> None:
        """Keep row 0 of the cache (prompt + the tokens that branch fed) for the next call."""
        if self._static is not None and self._on_static:
            self._cache, self._cache_rows, self._on_static = self._static.end(), 1, False
        if self._cache is None:
            return
        if isinstance(self._cache, SharedPrefixCache):
            self._cache = self._cache.to_dynamic(0)
        elif self._cache_rows > 1:
            self._cache.batch_select_indices(torch.tensor([0]))  # a CPU index works for any device
        self._prefix.keep(self._cache, self._prompt_ids + self._fed[branch_index])
        self._cache = None

    def _finish(self, branch: _Branch, reason: FinishReason, error: str | None = None) -> list[Event]:
        branch.finish = reason
        events: list[Event] = []
        try:
            tail = branch.text.finish()
        except Exception:  # noqa: BLE001 - the detokenizer itself may be what failed
            tail = ""
        if tail:
            events.append(Chunk(branch.index, tail))
        events.append(Done(branch.index, reason, len(self._prompt_ids), branch.tokens, error))
        return events

    def _finish_all(self, reason: FinishReason, error: str | None = None) -> Iterator[Event]:
        for branch in self._branches:
            if branch.finish is None:
                yield from self._finish(branch, reason, error)


def cache_keyword(model: Any) -> str:
    """The forward keyword for the KV cache: `cache` where the model takes it (transformers >= 5.24
    models, XVERSE), else `past_key_values` (5.23 and older models)."""
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"


def output_cache(output: Any) -> Any:
    """The cache a forward returned, under either name (reading `cache` first avoids the 5.24
    deprecation warning of `past_key_values`)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)
