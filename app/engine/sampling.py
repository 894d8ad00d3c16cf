"""Next-token selection on logits: repetition penalty, temperature, top-k, top-p, min-p, seeded draws.

All tensors are [rows, vocab] float32 on the model's device; rows are the live branches. Each
branch owns a `torch.Generator` seeded from (request seed, branch index): the same request and
seed reproduce the same tokens, branches draw differently, and a branch's draws do not depend on
which other branches are still alive (rows leave the batch as branches finish). Order follows transformers' logits processors:
repetition penalty -> temperature -> top-k -> top-p -> min-p. Temperature 0 means greedy.
"""

from __future__ import annotations

import torch

from app.engine.types import SamplingParams


class TokenSampler:
    def __init__(self, params: SamplingParams, seed: int, device: torch.device, branches: int = 1) -> None:
        self._params = params
        self._generators = [torch.Generator(device=device).manual_seed(branch_seed(seed, b)) for b in range(branches)]

    def select(self, logits: torch.Tensor, seen: torch.Tensor, branches: list[int] | None = None) -> torch.Tensor:
        """logits [rows, V] float32, seen [rows, V] bool (tokens already in prompt/output),
        branches[row] = the branch each row belongs to (default: row i is branch i) -> ids [rows]."""
        logits = apply_repetition_penalty(logits, seen, self._params.repetition_penalty)
        if self._params.greedy:
            return logits.argmax(dim=-1)
        logits = logits / self._params.temperature
        logits = keep_top_k(logits, self._params.top_k)
        logits = keep_top_p(logits, self._params.top_p)
        logits = keep_min_p(logits, self._params.min_p)
        probs = torch.softmax(logits, dim=-1)
        race = torch.empty_like(probs)  # [rows, V]
        for row, branch in enumerate(branches if branches is not None else range(probs.shape[0])):
            race[row].exponential_(1.0, generator=self._generators[branch])
        return exponential_race(probs, race)


def exponential_race(probs: torch.Tensor, race: torch.Tensor) -> torch.Tensor:
    """argmax(p / E) with E ~ Exp(1) draws token i with probability p_i (no host sync).
    probs, race [rows, V] -> ids [rows]. E is clamped to the smallest normal float: a draw of exactly
    0 would make a removed token's score 0/0 = NaN, and argmax ranks NaN above every number."""
    return (probs / race.clamp(min=torch.finfo(race.dtype).tiny)).argmax(dim=-1)


def branch_seed(seed: int, branch: int) -> int:
    """Distinct generator seeds per (request seed, branch); branch < MAX_BRANCHES <= 16."""
    return seed * 16 + branch


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty on every seen token: positive logits divided, negative multiplied."""
    if penalty == 1.0:
        return logits
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def keep_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth_best = torch.topk(logits, k, dim=-1).values[:, -1:]  # [rows, 1]
    return logits.masked_fill(logits < kth_best, float("-inf"))


def keep_top_p(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Smallest set of tokens whose probability mass reaches top_p (the best token always stays)."""
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    sorted_probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    drop_sorted = mass_before > top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def keep_min_p(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Drop tokens whose probability is below min_p times the best token's probability."""
    if min_p <= 0.0:
        return logits
    probs = torch.softmax(logits, dim=-1)
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(probs < threshold, float("-inf"))
