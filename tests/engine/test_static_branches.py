"""Branches on the static cache: the prompt read in place from the batch-1 buffers, never copied into
N rows. A shared step gives the logits of N full copies (16-bit and int8, exact and captured windows)
with no host read; a branch request streams what the dynamic cache streams through compaction down
to one row; and the request ends with prompt + row 0 in the batch-1 buffers, kept as the prefix."""

from __future__ import annotations

import pytest
import torch

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.kv_cache import new_cache
from app.engine.op_census import OpCensus
from app.engine.static_branches import SharedPromptStaticCache
from app.engine.static_cache import StaticKVCache, new_static_buffers
from app.engine.transformers_engine import TransformersEngine

SAMPLED = SamplingParams(temperature=0.9, top_p=0.95, top_k=0, repetition_penalty=1.1)
PROMPT = "夜色渐深，山门外的石阶上落满了松针，少年提着灯笼慢慢往上走。The lantern swung over the harbour"


def _static(config, rows: int, capacity: int, bits: int) -> StaticKVCache:
    return StaticKVCache(config.num_hidden_layers, rows, config.num_key_value_heads, config.head_dim, capacity,
                         dtype=torch.float32, device=torch.device("cpu"), bits=bits)


@torch.no_grad()
@pytest.mark.parametrize("bits", [16, 8])
@pytest.mark.parametrize("graphed", [False, True], ids=["exact-windows", "graph-windows"])
def test_a_shared_step_gives_the_logits_of_one_prompt_copy_per_row(fused_model, bits, graphed):
    config = fused_model.config
    dynamic = new_cache(config, bits)
    fused_model(torch.tensor([list(range(300, 340))]), past_key_values=dynamic)  # a 40-token prompt
    copies = _static(config, 3, 1024, bits)
    copies.load(dynamic, 3)  # the reference: the prompt in every row
    prompt = _static(config, 1, 1024, bits)
    prompt.load(dynamic, 1)
    storage = new_static_buffers(config.num_hidden_layers, (4, config.num_key_value_heads, 512, config.head_dim),
                                 dtype=torch.float32, device=torch.device("cpu"), bits=bits)
    shared = SharedPromptStaticCache(prompt, 3, storage)
    shared.start()
    for step in ([[341], [342], [343]], [[350], [351], [352]]):  # two steps: own tokens 0, then 1
        ids = torch.tensor(step)
        copies.choose_windows(graphed)
        want = fused_model(ids, cache=copies).logits
        shared.choose_windows(graphed)
        with OpCensus() as census:
            got = fused_model(ids, cache=shared).logits
        copies.host_length += 1
        shared.host_length += 1
        assert census.sync_count == 0  # capturable: no host read in the step
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert int(shared.length) == 42 and shared.own_length == 2 and prompt.host_length == 40
    assert shared.buffers[0][0].data_ptr() == storage[0][0].data_ptr()  # rows are views of the storage
    shared.hand_row_to_prompt(2)  # the last branch left: row 2 continues as batch 1, after the prompt
    assert prompt.host_length == int(prompt.length) == 42
    copies.choose_windows(graphed)
    want = fused_model(torch.tensor([[360], [361], [362]]), cache=copies).logits[2:]
    prompt.choose_windows(graphed)
    torch.testing.assert_close(fused_model(torch.tensor([[362]]), cache=prompt).logits, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("bits", [16, 8])
def test_branches_stream_what_the_dynamic_cache_streams_and_end_in_the_batch_1_buffers(fused_model, tiny_parts,
                                                                                        bits):
    tokenizer = tiny_parts[1]
    static = TransformersEngine(fused_model, tokenizer, model_id="s", context_length=512, kv_cache_bits=bits,
                                decode_step="static")
    dynamic = TransformersEngine(fused_model, tokenizer, model_id="d", context_length=512, kv_cache_bits=bits,
                                 decode_step="dynamic")
    free = generate(dynamic, GenerationRequest(PROMPT, n=3, max_new_tokens=24, sampling=SAMPLED, seed=2))
    compacting = GenerationRequest(PROMPT, n=3, max_new_tokens=24, sampling=SAMPLED, seed=2,
                                   stop=(free[0].text[4:6], free[1].text[8:10]))
    requests = [GenerationRequest(PROMPT, n=4, max_new_tokens=16, sampling=SAMPLED, seed=7), compacting,
                GenerationRequest(PROMPT + " and the rain", n=2, max_new_tokens=12, sampling=SAMPLED, seed=3)]
    expected = [[(r.text, r.finish_reason, r.completion_tokens) for r in generate(dynamic, q)] for q in requests]
    finishes = [(reason, tokens) for _, reason, tokens in expected[1]]
    assert [r for r, _ in finishes] == ["stop", "stop", "length"] and finishes[0][1] != finishes[1][1]  # 3 -> 2 -> 1
    batch_1 = None
    for request, want in zip(requests, expected):  # in sequence: each call reuses the prefix the previous one kept
        got = [(r.text, r.finish_reason, r.completion_tokens) for r in generate(static, request)]
        assert got == want
        decoder = static._static
        assert decoder is not None
        batch_1 = decoder.states[1].cache if batch_1 is None else batch_1
        assert decoder.states[1].cache is batch_1  # one batch-1 cache, request after request
        assert request.n in decoder.states
        for rows in [rows for rows in decoder.states if rows > 1]:
            branches = decoder.states[rows].cache
            assert isinstance(branches, SharedPromptStaticCache) and branches.prompt is batch_1
            assert branches.buffers[0][0].data_ptr() == decoder.branch_storage[0][0].data_ptr()
            assert branches.capacity == decoder.branch_capacity  # own tokens only: no room for the prompt
        kept = static._prefix._cache
        assert kept is not None and batch_1.aliases(kept) and kept.get_seq_length() == batch_1.host_length
    assert static.cached_prefix_tokens == dynamic.cached_prefix_tokens > 0


def test_a_branch_request_too_long_for_the_branch_buffers_decodes_on_the_dynamic_cache(fused_model, tiny_parts):
    engine = TransformersEngine(fused_model, tiny_parts[1], model_id="s", context_length=8192, decode_step="static")
    decoder = engine._static
    assert decoder is not None and decoder.branch_capacity == 2048
    assert decoder.fits(100, 2047, 4) and not decoder.fits(100, 2048, 4) and decoder.fits(100, 4000, 1)
    assert not decoder.fits(100, 8092, 1) and not decoder.fits(10, 10, 5)


def test_a_view_kept_aside_is_not_reused_once_another_request_rewrote_the_buffers(fused_model, tiny_parts):
    """What an adapter switch does (app.engine.adapters keeps one prefix cache per adapter): the first
    adapter's kept view points into the batch-1 buffers, which the other adapter's request rewrites;
    back on the first, that view must be refused, not read as if it still held the first prompt."""
    from app.engine.prefix_cache import PrefixCache

    greedy = SamplingParams(temperature=0, repetition_penalty=1.0)
    static = TransformersEngine(fused_model, tiny_parts[1], model_id="s", context_length=512, decode_step="static")
    dynamic = TransformersEngine(fused_model, tiny_parts[1], model_id="d", context_length=512, decode_step="dynamic")
    generate(static, GenerationRequest(PROMPT, max_new_tokens=8, sampling=greedy))
    kept_aside, static._prefix = static._prefix, PrefixCache()
    view = kept_aside._cache
    assert view is not None and view.still_valid()
    generate(static, GenerationRequest("师父说剑意不在剑上，而在心里。" * 3, n=2, max_new_tokens=8, sampling=SAMPLED))
    assert not view.still_valid()
    static._prefix = kept_aside
    again = GenerationRequest(PROMPT + " and the rain", max_new_tokens=12, sampling=greedy)
    want = [(r.text, r.finish_reason) for r in generate(dynamic, again)]
    assert [(r.text, r.finish_reason) for r in generate(static, again)] == want
    assert kept_aside.cached_tokens > 0 and kept_aside._cache.still_valid()  # the new one is current
