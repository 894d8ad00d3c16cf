"""One request's generation on a local causal LM: one prefill, N branches decoded as one batch.

Flow: take the reusable prefix of the last call's KV cache, prefill the rest of the prompt in
chunks (cancel is checked between chunks), sample the first token of every branch from the last
position's logits [1, V] expanded to [N, V], repeat the cache N times, then decode the live rows
together. A finished branch (eos, stop string, length) leaves the batch: rows are compacted with
`batch_select_indices`, so the others continue at lower cost. Afterwards one surviving row's cache
(prompt + the tokens it fed) is kept for the next call.

Model calls run under `torch.no_grad()` (not inference_mode: the cache must stay usable across
calls) and never across a `yield`, so grad mode does not leak into the consumer's code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from app.engine.growable_cache import new_growable_cache
from app.engine.prefix_cache import PrefixCache
from app.engine.sampling import TokenSampler
from app.engine.streaming import BranchText
from app.engine.types import Chunk, Done, Event, FinishReason, GenerationRequest


class _Branch:
    def __init__(self, index: int, tokenizer: Any, stops: Sequence[str]) -> None:
        self.index = index
        self.text = BranchText(tokenizer, stops)
        self.finish: FinishReason | None = None

    @property
    def tokens(self) -> int:
        return len(self.text.ids)


class BranchDecode:
    """Runs one GenerationRequest; `events()` yields Chunk/Done with exactly one Done per branch, last."""

    def __init__(self, model: Any, tokenizer: Any, *, prefix: PrefixCache, eos_ids: frozenset[int],
                 request: GenerationRequest, prompt_ids: list[int], max_new_tokens: int,
                 cancel: threading.Event, prefill_chunk_tokens: int) -> None:
        self._model, self._prefix, self._eos_ids = model, prefix, eos_ids
        self._request, self._prompt_ids, self._cancel = request, prompt_ids, cancel
        self._max_new_tokens, self._chunk = max_new_tokens, prefill_chunk_tokens
        self._branches = [_Branch(i, tokenizer, request.stop) for i in range(request.n)]
        self._cache: Any = None
        self._cache_rows = 1  # batch size of self._cache
        self._fed = 0  # decode steps fed into the cache after the prompt

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
            yield from self._finish_all("error", f"generation failed: {type(exc).__name__}: {exc}")

    def _forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [rows, T] -> last-position logits [rows, V] float32; extends self._cache."""
        with torch.no_grad():
            out = self._model(input_ids=input_ids, past_key_values=self._cache, use_cache=True, logits_to_keep=1)
        self._cache = out.past_key_values
        return out.logits[:, -1, :].float()

    def _prefill(self) -> torch.Tensor | None:
        """Prefill what the prefix cache does not cover; None when cancelled (the partial cache is kept)."""
        self._cache, start = self._prefix.take(self._prompt_ids)
        if self._cache is None:
            self._cache = new_growable_cache(self._model.config)  # None: the model builds its own
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
        n, vocab = self._request.n, logits.shape[-1]
        sampler = TokenSampler(self._request.sampling, self._request.seed, logits.device, branches=n)
        prompt = torch.tensor(self._prompt_ids, dtype=torch.long, device=logits.device)
        seen = torch.zeros(1, vocab, dtype=torch.bool, device=logits.device)
        seen[0, prompt[prompt < vocab]] = True
        logits, seen = logits.expand(n, vocab), seen.expand(n, vocab).clone()  # [N, V] each
        rows = list(range(n))  # row -> branch index
        while True:
            with torch.no_grad():
                tokens = sampler.select(logits, seen, rows)  # [rows]
                seen[torch.arange(len(rows), device=seen.device), tokens] = True
            token_list = tokens.tolist()  # the one host sync per step: text must be streamed
            events, live = self._advance(rows, token_list)
            yield from events
            if not live:
                break
            if self._cancel.is_set():
                yield from self._finish_all("cancelled")
                break
            if len(live) < len(rows):  # a branch finished: compact its row out of every tensor
                keep = torch.tensor(live, dtype=torch.long, device=tokens.device)
                tokens, seen = tokens[keep], seen[keep]
                self._shape_cache(len(rows), live, keep)
                rows = [rows[r] for r in live]
            else:
                self._shape_cache(len(rows), live, None)
            logits = self._forward(tokens.unsqueeze(1))  # [rows, 1] -> [rows, V]
            self._fed += 1
        self._keep_prefix(rows[0])

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

    def _shape_cache(self, rows: int, live: list[int], keep: torch.Tensor | None) -> None:
        """Repeat the batch-1 prompt cache for the live branches, or drop finished rows (`keep`
        holds the live row indexes and is None when no row finished)."""
        if self._cache_rows == 1 and rows > 1:
            # Still the shared prompt cache: every live row starts from the same prompt.
            if len(live) > 1:
                self._cache.batch_repeat_interleave(len(live))
        elif len(live) < rows:
            self._cache.batch_select_indices(keep)
        self._cache_rows = len(live)

    def _keep_prefix(self, branch_index: int) -> None:
        """Keep row 0 of the cache (prompt + that branch's fed tokens) for the next call."""
        if self._cache is None:
            return
        if self._cache_rows > 1:
            self._cache.batch_select_indices(torch.tensor([0]))  # a CPU index works for any device
        fed_ids = self._branches[branch_index].text.ids[: self._fed]
        self._prefix.keep(self._cache, self._prompt_ids + fed_ids)
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
