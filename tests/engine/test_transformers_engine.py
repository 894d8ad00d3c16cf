"""The local engine on the real tiny XVERSE-MoE (CPU): events, branches, seeds, reuse, stops, errors."""

from __future__ import annotations

import pytest
import torch

from app.engine import Chunk, Done, Engine, EngineError, GenerationRequest, SamplingParams, generate
from app.engine.transformers_engine import TransformersEngine

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
PROMPT = "夜色渐深，山门外的石阶上落满了松针，少年提着灯笼慢慢往上走。The lantern swung over the harbour"


def events_of(engine, request, cancel=None) -> list:
    return list(engine.stream(request, cancel))


def test_engine_satisfies_the_protocol_and_reports_itself(engine, tiny_parts):
    _, tokenizer = tiny_parts
    assert isinstance(engine, Engine)
    info = engine.info()
    assert (info.kind, info.model_id, info.context_length, info.device) == ("transformers", "tiny-xverse", 2048, "cpu")
    assert info.token_counts_exact
    assert engine.count_tokens(PROMPT) == len(tokenizer.encode(PROMPT, add_special_tokens=False))


def test_every_branch_gets_exactly_one_done_and_it_comes_last(engine):
    events = events_of(engine, GenerationRequest(PROMPT, n=3, max_new_tokens=12, seed=5))
    for branch in range(3):
        mine = [e for e in events if e.branch == branch]
        assert [type(e) for e in mine].count(Done) == 1
        assert isinstance(mine[-1], Done)
        done = mine[-1]
        assert done.prompt_tokens == engine.count_tokens(PROMPT)
        assert 1 <= done.completion_tokens <= 12
        assert done.finish_reason in ("stop", "length")
    assert all(isinstance(e, Done) for e in events[-1:])
    assert all(e.text for e in events if isinstance(e, Chunk))  # no empty chunks


def test_three_branches_diverge_and_each_finishes(engine):
    results = generate(engine, GenerationRequest(PROMPT, n=3, max_new_tokens=24, seed=11))
    assert len({r.text for r in results}) == 3
    assert all(r.finish_reason in ("stop", "length") and r.error is None for r in results)


def test_same_seed_reproduces_text_and_another_seed_does_not(engine):
    request = GenerationRequest(PROMPT, n=2, max_new_tokens=24, seed=42)
    first = [r.text for r in generate(engine, request)]
    engine.clear_prefix_cache()
    again = [r.text for r in generate(engine, request)]
    other = [r.text for r in generate(engine, GenerationRequest(PROMPT, n=2, max_new_tokens=24, seed=43))]
    assert first == again
    assert first != other


def test_prefix_reuse_gives_token_identical_greedy_output(tiny_parts):
    model, tokenizer = tiny_parts
    reusing = TransformersEngine(model, tokenizer, model_id="t", context_length=2048)
    base = PROMPT * 6
    edits = [base, base + " and the rain", base[:-40] + "石阶上落满了雪", base]
    generate(reusing, GenerationRequest(base[:200], max_new_tokens=4, sampling=GREEDY))  # warm something
    for prompt in edits:
        request = GenerationRequest(prompt, max_new_tokens=32, sampling=GREEDY)
        cached_before = reusing.cached_prefix_tokens
        warm = generate(reusing, request)[0]
        cold_engine = TransformersEngine(model, tokenizer, model_id="t", context_length=2048)
        cold = generate(cold_engine, request)[0]
        assert (warm.text, warm.completion_tokens) == (cold.text, cold.completion_tokens)
        assert cached_before > 0
    # after a call the cache covers the prompt plus the tokens fed while decoding
    assert reusing.cached_prefix_tokens >= reusing.count_tokens(edits[-1])


def test_greedy_matches_transformers_generate_and_streams_whole_characters(engine, tiny_parts):
    model, tokenizer = tiny_parts
    request = GenerationRequest(PROMPT, max_new_tokens=48, sampling=GREEDY)
    chunks = [e.text for e in engine.stream(request) if isinstance(e, Chunk)]
    ids = torch.tensor([tokenizer.encode(PROMPT, add_special_tokens=False)])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=48, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    reference = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    assert "".join(chunks) == reference
    for k in range(1, len(chunks) + 1):
        assert reference.startswith("".join(chunks[:k]))  # no chunk ever carries half a character


def test_stop_string_across_token_boundaries_ends_the_branch_without_it(engine, tiny_parts):
    _, tokenizer = tiny_parts
    free = generate(engine, GenerationRequest(PROMPT, max_new_tokens=40, sampling=GREEDY))[0]
    ids = tokenizer.encode(free.text, add_special_tokens=False)
    # a stop string made of the end of token 10 and the start of token 11 and 12
    before = tokenizer.decode(ids[:10])
    stop = (tokenizer.decode(ids[:13])[len(before) - 1 :]).strip() or tokenizer.decode(ids[9:13])
    assert len(stop) >= 2
    stopped = generate(engine, GenerationRequest(PROMPT, max_new_tokens=40, sampling=GREEDY, stop=(stop,)))[0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.index(stop)]
    assert stop not in stopped.text
    assert stopped.completion_tokens < free.completion_tokens


def test_branches_stop_independently(engine):
    request = GenerationRequest(PROMPT, n=4, max_new_tokens=30, seed=3)
    free = generate(engine, request)
    stop = free[0].text[5:7]  # a string branch 0 certainly hits early
    results = generate(engine, GenerationRequest(PROMPT, n=4, max_new_tokens=30, seed=3, stop=(stop,)))
    assert results[0].finish_reason == "stop" and results[0].text == free[0].text[: free[0].text.index(stop)]
    for free_branch, branch in zip(free[1:], results[1:]):
        if stop not in free_branch.text:  # branches that never see it run on to their own end
            assert (branch.text, branch.finish_reason) == (free_branch.text, free_branch.finish_reason)


def test_too_long_prompt_is_refused_before_generating(tiny_parts):
    model, tokenizer = tiny_parts
    small = TransformersEngine(model, tokenizer, model_id="t", context_length=16)
    with pytest.raises(EngineError, match="context") as refused:
        small.stream(GenerationRequest(PROMPT))
    assert small.cached_prefix_tokens == 0
    assert refused.value.code == "engine.prompt_too_long" and "上下文只能容纳 16 个" in refused.value.render("zh")


def test_length_is_capped_by_the_context(tiny_parts):
    model, tokenizer = tiny_parts
    prompt_tokens = len(tokenizer.encode(PROMPT, add_special_tokens=False))
    small = TransformersEngine(model, tokenizer, model_id="t", context_length=prompt_tokens + 3)
    result = generate(small, GenerationRequest(PROMPT, max_new_tokens=50, sampling=GREEDY))[0]
    assert result.completion_tokens <= 3


def test_failure_mid_generation_becomes_done_error_and_keeps_streamed_text(tiny_parts):
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="t", context_length=2048)
    calls = {"n": 0}

    def fail_on_fifth_forward(module, args, kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("device fell off the bus")

    handle = model.register_forward_pre_hook(fail_on_fifth_forward, with_kwargs=True)
    try:
        events = events_of(engine, GenerationRequest(PROMPT, n=2, max_new_tokens=30, sampling=GREEDY))
    finally:
        handle.remove()
    dones = [e for e in events if isinstance(e, Done)]
    assert [d.branch for d in dones] == [0, 1]
    assert all(d.finish_reason == "error" and "device fell off the bus" in d.error for d in dones)
    assert all(d.completion_tokens == 4 for d in dones)
    assert engine.cached_prefix_tokens == 0  # a cache in an unknown state is never reused
    assert generate(engine, GenerationRequest(PROMPT, max_new_tokens=3))[0].finish_reason != "error"


def test_empty_prompt_starts_from_the_start_token(engine, tiny_parts):
    _, tokenizer = tiny_parts
    result = generate(engine, GenerationRequest("", max_new_tokens=3, seed=1))[0]
    assert result.prompt_tokens == 1 and result.finish_reason in ("stop", "length")


def test_end_of_text_is_not_drawn_before_min_new_tokens(tiny_parts):
    """Make the greedy first token an end-of-text id: without a minimum the reply is empty; with
    min_new_tokens=3 at least 3 tokens come, in every branch, before it may end."""
    model, tokenizer = tiny_parts
    ids = torch.tensor([tokenizer.encode(PROMPT, add_special_tokens=False)])
    with torch.no_grad():
        first = int(model(ids).logits[0, -1].argmax())
    config = model.generation_config
    original = config.eos_token_id
    config.eos_token_id = [first] + ([original] if isinstance(original, int) else list(original or []))
    try:
        ending = TransformersEngine(model, tokenizer, model_id="t", context_length=2048)
        (empty,) = generate(ending, GenerationRequest(PROMPT, max_new_tokens=8, sampling=GREEDY))
        assert (empty.finish_reason, empty.completion_tokens, empty.text) == ("stop", 0, "")
        floored = generate(ending, GenerationRequest(PROMPT, n=2, max_new_tokens=8, sampling=GREEDY,
                                                     min_new_tokens=3))
        assert all(r.completion_tokens >= 3 for r in floored)
    finally:
        config.eos_token_id = original
    with pytest.raises(ValueError):
        GenerationRequest(PROMPT, max_new_tokens=2, min_new_tokens=3)
