"""Decode steps on the static, pre-allocated KV cache (the graph-captured path on CUDA, stepped
eagerly here) stream exactly what the dynamic cache does: greedy and sampled branches, branch
compaction, prefix reuse across calls, 16-bit and int8; and the step reads no host value."""

from __future__ import annotations

import pytest
import torch

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.kv_cache import new_cache
from app.engine.op_census import OpCensus
from app.engine.static_cache import StaticKVCache
from app.engine.transformers_engine import TransformersEngine

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SAMPLED = SamplingParams(temperature=0.9, top_p=0.95, top_k=0, repetition_penalty=1.1)
PROMPT = "夜色渐深，山门外的石阶上落满了松针，少年提着灯笼慢慢往上走。The lantern swung over the harbour"


def outputs(engine, request) -> list[tuple[str, str, int]]:
    return [(r.text, r.finish_reason, r.completion_tokens) for r in generate(engine, request)]


@pytest.mark.parametrize("bits", [16, 8])
def test_static_steps_stream_what_the_dynamic_cache_streams(fused_model, tiny_parts, bits):
    tokenizer = tiny_parts[1]
    static = TransformersEngine(fused_model, tokenizer, model_id="s", context_length=512, kv_cache_bits=bits,
                                decode_step="static")
    dynamic = TransformersEngine(fused_model, tokenizer, model_id="d", context_length=512, kv_cache_bits=bits,
                                 decode_step="dynamic")
    assert static.info().decode_step.startswith("static cache, eager") and dynamic.info().decode_step == "eager"
    requests = [GenerationRequest(PROMPT, max_new_tokens=20, sampling=GREEDY),
                GenerationRequest(PROMPT + " and the rain", n=3, max_new_tokens=16, sampling=SAMPLED, seed=4)]
    free = generate(dynamic, GenerationRequest(PROMPT, n=4, max_new_tokens=24, sampling=SAMPLED, seed=9))
    requests.append(GenerationRequest(PROMPT, n=4, max_new_tokens=24, sampling=SAMPLED, seed=9,
                                      stop=(free[1].text[3:5],)))  # branch 1 stops early: compaction
    for request in requests:  # in sequence: each call reuses the prefix the previous one kept
        assert outputs(static, request) == outputs(dynamic, request)
        assert static.cached_prefix_tokens == dynamic.cached_prefix_tokens > 0


@torch.no_grad()
def test_the_static_step_reads_nothing_on_the_host(fused_model, tiny_parts):
    config = fused_model.config
    ids = torch.tensor([list(range(300, 330))])
    dynamic = new_cache(config, 16)
    fused_model(ids, past_key_values=dynamic)
    static = StaticKVCache(config.num_hidden_layers, 1, config.num_key_value_heads, config.head_dim, 64,
                           dtype=torch.float32, device=torch.device("cpu"))
    static.load(dynamic, 1)
    step = torch.tensor([[331]])
    with OpCensus() as census:
        got = fused_model(step, cache=static).logits
    assert census.sync_count == 0 and int(static.length) == 31
    want = fused_model(step, past_key_values=dynamic).logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@torch.no_grad()
@pytest.mark.parametrize("bits", [16, 8])
def test_a_step_reads_only_its_window_and_any_covering_window_gives_the_same_logits(fused_model, bits):
    config = fused_model.config
    dynamic = new_cache(config, bits)
    fused_model(torch.tensor([list(range(300, 340))]), past_key_values=dynamic)  # 40 tokens cached
    static = StaticKVCache(config.num_hidden_layers, 1, config.num_key_value_heads, config.head_dim, 2048,
                           dtype=torch.float32, device=torch.device("cpu"), bits=bits)
    assert [static.graph_window(n) for n in (1, 41, 256, 257, 1500, 2047)] == [256, 256, 256, 512, 2048, 2048]
    logits = {}
    for window in (41, 256, 2048):  # exact (eager), a captured step's window, the whole capacity
        static.load(dynamic, 1)
        static.set_window(window)
        logits[window] = fused_model(torch.tensor([[341]]), cache=static).logits
        assert static.mask is not None and static.mask.shape[-1] == window
    torch.testing.assert_close(logits[41], logits[2048], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits[256], logits[2048], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        static.set_window(40)  # would not cover position 40


@pytest.mark.parametrize("bits", [16, 8])
def test_a_batch_1_request_prefills_into_the_static_buffers_and_keeps_them_as_its_prefix(fused_model, tiny_parts,
                                                                                         bits):
    """One K/V cache on the device, not a dynamic one next to a static one: the prefill writes into
    the batch-1 static buffers, the decode steps continue there, and the prefix kept for the next
    call is a view of them (no copy either way); the text equals the dynamic cache's."""
    tokenizer = tiny_parts[1]
    static = TransformersEngine(fused_model, tokenizer, model_id="s", context_length=512, kv_cache_bits=bits,
                                decode_step="static")
    dynamic = TransformersEngine(fused_model, tokenizer, model_id="d", context_length=512, kv_cache_bits=bits,
                                 decode_step="dynamic")
    buffers = None
    for prompt in (PROMPT, PROMPT + " and the rain", PROMPT[:30]):  # reuse, extend, then a shorter prompt
        request = GenerationRequest(prompt, max_new_tokens=12, sampling=GREEDY)
        assert outputs(static, request) == outputs(dynamic, request)
        kept, batch_1 = static._prefix._cache, static._static.states[1].cache
        assert kept is not None and batch_1.aliases(kept) and kept.get_seq_length() == batch_1.host_length
        buffers = batch_1.buffers[0][0] if buffers is None else buffers
        assert batch_1.buffers[0][0] is buffers  # the same storage, call after call
