"""UnavailableEngine: the studio keeps working without a model; generation says why and what to do."""

from __future__ import annotations

import pytest

from app.engine import Engine, EngineUnavailable, GenerationRequest
from app.engine.token_estimate import estimate_tokens
from app.engine.unavailable import UnavailableEngine


def test_reports_kind_none_estimates_tokens_and_refuses_to_generate():
    engine = UnavailableEngine("No GPU here. Start with --demo.", model_id="xverse/A4.2B", context_length=4096)
    assert isinstance(engine, Engine)
    info = engine.info()
    assert (info.kind, info.model_id, info.context_length, info.token_counts_exact) == ("none", "xverse/A4.2B", 4096, False)
    assert "--demo" in info.notes
    assert engine.count_tokens("夜色渐深 over the harbour") == estimate_tokens("夜色渐深 over the harbour")
    with pytest.raises(EngineUnavailable, match="No GPU here"):
        engine.stream(GenerationRequest("hello"))


def test_needs_a_reason():
    with pytest.raises(ValueError):
        UnavailableEngine("  ")


@pytest.mark.parametrize(("text", "expected"), [("", 0), ("夜色渐深", 4), ("abcd", 1), ("abcde", 2), ("你好, world", 2 + 2)])
def test_estimate_rule(text, expected):
    assert estimate_tokens(text) == expected
