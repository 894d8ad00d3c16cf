"""Logit filters and seeded draws on hand-made logits."""

from __future__ import annotations

import math

import torch

from app.engine.sampling import (
    TokenSampler,
    apply_repetition_penalty,
    exponential_race,
    keep_min_p,
    keep_top_k,
    keep_top_p,
)
from app.engine.types import SamplingParams

LOGITS = torch.tensor([[2.0, 1.0, 0.0, -1.0, -2.0]])


def kept(logits: torch.Tensor) -> list[int]:
    return torch.isfinite(logits[0]).nonzero().flatten().tolist()


def test_top_k_keeps_the_k_best():
    assert kept(keep_top_k(LOGITS, 2)) == [0, 1]
    assert kept(keep_top_k(LOGITS, 0)) == [0, 1, 2, 3, 4]


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    probs = torch.softmax(LOGITS, -1)[0]
    assert probs[0] < 0.7 < probs[0] + probs[1]
    assert kept(keep_top_p(LOGITS, 0.7)) == [0, 1]
    assert kept(keep_top_p(LOGITS, 0.01)) == [0]  # the best token always stays


def test_min_p_is_relative_to_the_best_token():
    threshold_between_1_and_2 = (math.exp(-1) + math.exp(-2)) / 2  # p1/p0 = e^-1, p2/p0 = e^-2
    assert kept(keep_min_p(LOGITS, threshold_between_1_and_2)) == [0, 1]


def test_repetition_penalty_pushes_seen_tokens_down_on_both_signs():
    seen = torch.tensor([[True, False, False, True, False]])
    out = apply_repetition_penalty(LOGITS, seen, 2.0)
    assert out.tolist() == [[1.0, 1.0, 0.0, -2.0, -2.0]]


def test_greedy_is_argmax_after_penalty():
    sampler = TokenSampler(SamplingParams(temperature=0, repetition_penalty=10.0), seed=0, device=torch.device("cpu"))
    seen = torch.tensor([[True, False, False, False, False]])
    assert sampler.select(LOGITS, seen).tolist() == [1]


def test_same_seed_same_draws_and_rows_draw_independently():
    params = SamplingParams(temperature=1.0, top_p=1.0, top_k=0, repetition_penalty=1.0)
    logits = torch.zeros(4, 1000)  # uniform: four rows agreeing by chance is ~1e-9
    seen = torch.zeros(4, 1000, dtype=torch.bool)
    cpu = torch.device("cpu")
    first = TokenSampler(params, seed=7, device=cpu, branches=4).select(logits, seen).tolist()
    again = TokenSampler(params, seed=7, device=cpu, branches=4).select(logits, seen).tolist()
    other = TokenSampler(params, seed=8, device=cpu, branches=4).select(logits, seen).tolist()
    assert first == again
    assert first != other
    assert len(set(first)) > 1
    # a branch's draw does not depend on which other branches are still in the batch
    only_2_and_3 = TokenSampler(params, seed=7, device=cpu, branches=4).select(logits[:2], seen[:2], [2, 3])
    assert only_2_and_3.tolist() == first[2:]


def test_draw_frequencies_follow_the_distribution():
    params = SamplingParams(temperature=1.0, top_p=1.0, top_k=0, repetition_penalty=1.0)
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    sampler = TokenSampler(params, seed=1, device=torch.device("cpu"))
    draws = torch.cat([sampler.select(logits[:1], torch.zeros(1, 3, dtype=torch.bool)) for _ in range(5000)])
    freq = torch.bincount(draws, minlength=3).float() / 5000
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.03)


def test_a_zero_exponential_draw_never_lets_a_removed_token_win():
    probs = torch.tensor([[0.0, 0.7, 0.0, 0.3], [0.0, 0.0, 1.0, 0.0]])  # removed tokens have p = 0
    race = torch.tensor([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])  # Exp(1) draws of exactly 0
    picks = exponential_race(probs, race).tolist()
    assert picks[1] == 2  # the only kept token wins even when every draw is 0
    assert probs[0, picks[0]] > 0
