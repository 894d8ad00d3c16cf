"""Direct preference optimisation (DPO; Rafailov et al., 2023) of a LoRA adapter on the writer's choices.

A pair is (prompt, chosen, rejected) text: what the writer kept over what the model offered. With the
policy π (base + adapter) and the reference π_ref (the same model with the adapter disabled: the base,
as peft-based DPO does when no separate reference is given), the loss of a pair is

    -log σ(β · [(log π(c|p) − log π_ref(c|p)) − (log π(r|p) − log π_ref(r|p))])

where log π(x|p) sums the log-probabilities of the continuation's tokens after the prompt. The bracket
divided out of β is the pair's *margin*; `preference_margins` reports it (0 for every pair while the
adapter is the identity, as a fresh LoRA is).

Invariant: a pair's ids fit `max_len` tokens: the continuation keeps its first `max_len // 2` tokens,
the prompt its last tokens that fit before it (at least one: an empty prompt becomes the eos token).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class EncodedPair:
    prompt: list[int]
    chosen: list[int]
    rejected: list[int]


def encode_pairs(pairs: Sequence[tuple[str, str, str]], encode: Callable[[str], list[int]], eos: int,
                 max_len: int) -> list[EncodedPair]:
    """Token ids of each (prompt, chosen, rejected); pairs whose chosen or rejected text is empty are left out."""
    encoded = []
    for prompt, chosen, rejected in pairs:
        chosen_ids, rejected_ids = encode(chosen)[: max_len // 2], encode(rejected)[: max_len // 2]
        if not chosen_ids or not rejected_ids:
            continue
        room = max(1, max_len - max(len(chosen_ids), len(rejected_ids)))
        prompt_ids = (encode(prompt) or [eos])[-room:]
        encoded.append(EncodedPair(prompt_ids, chosen_ids, rejected_ids))
    return encoded


def continuation_logprob(model: Any, prompt: list[int], continuation: list[int]) -> torch.Tensor:
    """Σ log p(continuation token | everything before it) — a scalar (fp32) carrying gradients."""
    device = next(model.parameters()).device
    ids = torch.tensor([prompt + continuation], device=device)  # [1, P + C]
    logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1 : -1].float()  # [C, V]
    targets = ids[0, len(prompt):]  # [C]
    return torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).sum()


def _reference(model: Any) -> AbstractContextManager[Any]:
    """The model with its adapter switched off (a peft model), for the reference log-probabilities."""
    return model.disable_adapter()


def pair_margin(model: Any, pair: EncodedPair) -> torch.Tensor:
    """(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r)) for one pair; gradients flow through π only."""
    with torch.no_grad(), _reference(model):
        ref_chosen = continuation_logprob(model, pair.prompt, pair.chosen)
        ref_rejected = continuation_logprob(model, pair.prompt, pair.rejected)
    chosen = continuation_logprob(model, pair.prompt, pair.chosen)
    rejected = continuation_logprob(model, pair.prompt, pair.rejected)
    return (chosen - ref_chosen) - (rejected - ref_rejected)


def dpo_loss(model: Any, pairs: Sequence[EncodedPair], beta: float) -> torch.Tensor:
    """Mean DPO loss over `pairs` (see the module docstring)."""
    margins = torch.stack([pair_margin(model, pair) for pair in pairs])
    return -F.logsigmoid(beta * margins).mean()


def preference_margins(model: Any, pairs: Sequence[EncodedPair]) -> list[float]:
    """Every pair's margin, without gradients (> 0: the adapter moved towards the writer's choice)."""
    with torch.no_grad():
        return [float(pair_margin(model, pair)) for pair in pairs]


def pairs_for_step(pairs: Sequence[EncodedPair], step: int, batch_size: int) -> list[EncodedPair]:
    """The pairs of optimisation step `step`: a pure function of the step (so a resumed run sees them too)."""
    return [pairs[(step * batch_size + i) % len(pairs)] for i in range(min(batch_size, len(pairs)))]
