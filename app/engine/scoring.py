"""Log-likelihood scoring: how probable the model finds each continuation of one prompt.

Owns `score_continuations` (one forward pass per continuation over the prompt's last
`context_tokens` tokens + the continuation; logits only for the continuation's positions) and the
`ContinuationScore` it returns. Used for the continuity checker's yes/no answers and for ranking
branches by mean log-likelihood. Pure function of the model's weights: no sampling, no seed, no
prefix cache (the engine's kept KV cache is left untouched).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

DEFAULT_CONTEXT_TOKENS = 1024


@dataclass(frozen=True)
class ContinuationScore:
    logprob: float  # Σ log p(token | prompt, earlier tokens) over the continuation's tokens
    tokens: int  # number of continuation tokens scored

    @property
    def mean(self) -> float:
        return self.logprob / self.tokens if self.tokens else 0.0


@runtime_checkable
class Scorer(Protocol):
    def score(self, prompt: str, continuations: Sequence[str],
              context_tokens: int = DEFAULT_CONTEXT_TOKENS) -> list[ContinuationScore]: ...


def score_continuations(model: Any, prompt_ids: Sequence[int], continuations: Sequence[Sequence[int]],
                        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                        max_positions: int | None = None) -> list[ContinuationScore]:
    """Score each continuation (token ids) after `prompt_ids` (at least one id)."""
    if not prompt_ids:
        raise ValueError("prompt_ids must hold at least one token")
    device = model.get_output_embeddings().weight.device
    scores = []
    for continuation in continuations:
        context = list(prompt_ids[-max(1, context_tokens):])
        ids = list(continuation)
        if max_positions is not None and len(context) + len(ids) > max_positions:
            ids = ids[: max(0, max_positions - len(context))]
        scores.append(_score_one(model, context, ids, device))
    return scores


def _score_one(model: Any, context: list[int], ids: list[int], device: torch.device) -> ContinuationScore:
    if not ids:
        return ContinuationScore(0.0, 0)
    input_ids = torch.tensor([context + ids], dtype=torch.long, device=device)  # [1, P + C]
    with torch.no_grad():
        logits = model(input_ids=input_ids, use_cache=False, logits_to_keep=len(ids) + 1).logits
    # logits [1, C + 1, V]: row j (j < C) predicts ids[j]; the last row predicts past the end.
    logprobs = torch.log_softmax(logits[0, : len(ids)].float(), dim=-1)  # [C, V]
    target = torch.tensor(ids, dtype=torch.long, device=logprobs.device)  # [C]
    picked = logprobs.gather(1, target[:, None])[:, 0]  # [C]
    return ContinuationScore(float(picked.sum()), len(ids))
