"""Engine log-likelihood scoring on the real tiny XVERSE-MoE, and the model layer built on it."""

from __future__ import annotations

import math

import pytest
import torch

from app.continuity import model_findings, model_verdicts
from app.engine.scoring import score_continuations
from app.engine.transformers_engine import TransformersEngine


@pytest.fixture(scope="module")
def engine(tiny_parts):
    model, tokenizer = tiny_parts
    return TransformersEngine(model, tokenizer, model_id="tiny", context_length=512)


def test_scores_equal_the_full_forward_log_softmax(tiny_parts):
    model, _ = tiny_parts
    prompt, cont = [10, 11, 12, 13], [20, 21, 22]
    (score,) = score_continuations(model, prompt, [cont])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt + cont])).logits[0]  # [T, V]
    logprobs = torch.log_softmax(logits.float(), -1)
    expected = sum(float(logprobs[len(prompt) - 1 + j, t]) for j, t in enumerate(cont))
    assert score.tokens == 3 and math.isclose(score.logprob, expected, rel_tol=1e-4, abs_tol=1e-4)


def test_engine_score_is_deterministic_and_leaves_the_prefix_cache_alone(engine):
    before = engine.cached_prefix_tokens
    first = engine.score("林微推开门，", ["走了出去。", "笑了。"])
    assert first == engine.score("林微推开门，", ["走了出去。", "笑了。"])
    assert all(s.tokens > 0 and s.logprob < 0 for s in first)
    assert engine.cached_prefix_tokens == before


def test_model_layer_scores_each_relevant_fact_from_the_answer_probabilities(zh_book, engine):
    facts, _, _ = zh_book
    score = lambda prompt, answers: [s.logprob for s in engine.score(prompt, answers)]  # noqa: E731
    verdicts = model_verdicts("门开了，林微说道：“我回来了。”萧长风点头。", facts, chapter=30, title="Book", score=score)
    assert [v.fact.subject for v in verdicts] == ["林微", "萧长风"]
    assert all(0.0 < v.p_contradicts < 1.0 for v in verdicts)
    assert verdicts[0].span.quote.startswith("门开了，林微说道")
    everything = model_findings(verdicts, threshold=0.0)
    assert [f.layer for f in everything] == ["model", "model"] and everything[0].values["p"] > 0
    assert model_findings(verdicts, threshold=1.0) == []
    assert [v.fact.subject for v in model_verdicts("萧长风点头。", facts, chapter=25, title="Book", score=score)] == ["萧长风"]
    assert model_verdicts("萧长风点头。", facts, chapter=19, title="Book", score=score) == []  # rank only from 20
    assert model_verdicts("林微点头。", facts, chapter=10, title="Book", score=score) == []  # dead only from 12
