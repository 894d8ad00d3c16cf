"""Branches that share a prompt read its K/V once: the same attention, the same logits, the same text
as one copy of the prompt per row; finished rows leave and one row goes back to the prefix cache.
The same for the int8 cache (codes and scales shared, read in place)."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.int8_attention import attend_int8, attend_int8_with_lse
from app.engine.kv_cache import Int8KVCache, dequantize_int8, new_cache, quantize_int8
from app.engine.shared_prefix import SharedPrefixCache, attention_with_lse, reference_attention_with_lse
from app.engine.transformers_engine import TransformersEngine


def _prompt_cache(heads: int, length: int, dim: int) -> object:
    from transformers import LlamaConfig

    cache = new_cache(LlamaConfig(num_hidden_layers=1), 16)
    cache.update(torch.randn(1, heads, length, dim), torch.randn(1, heads, length, dim), 0)
    return cache


def test_attention_over_shared_prompt_equals_one_softmax_over_prompt_and_suffix() -> None:
    torch.manual_seed(0)
    rows, q_heads, kv_heads, dim = 3, 8, 2, 16  # grouped queries: 4 query heads per KV head
    prompt = _prompt_cache(kv_heads, 37, dim)
    shared = SharedPrefixCache(prompt)
    keys = prompt.layers[0].keys.expand(rows, -1, -1, -1)
    values = prompt.layers[0].values.expand(rows, -1, -1, -1)
    for _ in range(4):  # four decode steps: the suffix grows to 4 tokens per row
        query = torch.randn(rows, q_heads, 1, dim)
        key, value = torch.randn(rows, kv_heads, 1, dim), torch.randn(rows, kv_heads, 1, dim)
        keys, values = torch.cat((keys, key), dim=2), torch.cat((values, value), dim=2)
        want = F.scaled_dot_product_attention(query, keys, values, enable_gqa=True)
        got = shared.attend(0, query, key, value)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert shared.get_seq_length() == 37 + 4


def test_the_fast_kernel_gives_the_reference_output_and_log_sum_exp() -> None:
    torch.manual_seed(1)
    query, keys, values = torch.randn(2, 4, 6, 16), torch.randn(2, 4, 50, 16), torch.randn(2, 4, 50, 16)
    out, lse = attention_with_lse(query, keys, values)
    want_out, want_lse = reference_attention_with_lse(query, keys, values)
    torch.testing.assert_close(out, want_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lse, want_lse, atol=1e-5, rtol=1e-5)


def _logits(model, cache, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=tokens, use_cache=True, past_key_values=cache, logits_to_keep=1).logits[:, -1]


@pytest.mark.parametrize("block", [4096, 16])  # one block, and the online softmax over 4 blocks
def test_the_int8_reader_gives_the_log_sum_exp_of_the_dequantized_scores(block: int) -> None:
    torch.manual_seed(3)
    query = torch.randn(2, 4, 3, 16)
    (key_codes, key_scales), (value_codes, value_scales) = (quantize_int8(torch.randn(2, 4, 60, 16)) for _ in "kv")
    out, lse = attend_int8_with_lse(query, (key_codes, value_codes), (key_scales, value_scales), block=block)
    keys, values = dequantize_int8(key_codes, key_scales), dequantize_int8(value_codes, value_scales)
    want_out, want_lse = reference_attention_with_lse(query, keys, values)
    torch.testing.assert_close(out, want_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lse, want_lse, atol=1e-5, rtol=1e-5)
    one = query[:, :, :1]  # attend_int8 (mask None) reads causally for T > 1; one query sees every key
    plain = attend_int8(one, (key_codes, value_codes), (key_scales, value_scales), None, block=block)
    torch.testing.assert_close(plain, want_out[:, :, :1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bits", [16, 8])
def test_decode_on_a_shared_prompt_matches_a_copy_per_row_through_leaving_rows_and_back(tiny_parts, bits) -> None:
    model, _ = tiny_parts
    torch.manual_seed(2)
    prompt_ids = torch.randint(10, 300, (1, 40))
    caches = []
    for _ in range(2):
        cache = new_cache(model.config, bits)
        _logits(model, cache, prompt_ids)
        caches.append(cache)
    repeated, shared = caches[0], SharedPrefixCache(caches[1])
    repeated.batch_repeat_interleave(3)
    assert SharedPrefixCache.can_share(caches[1]) and not SharedPrefixCache.can_share(repeated)
    for step in range(5):
        tokens = torch.randint(10, 300, (repeated.layers[0].keys.shape[0], 1))
        torch.testing.assert_close(_logits(model, shared, tokens), _logits(model, repeated, tokens),
                                   atol=1e-4, rtol=1e-4)
        if step == 2:  # the middle branch finished
            keep = torch.tensor([0, 2])
            repeated.batch_select_indices(keep)
            shared.batch_select_indices(keep)
    back = shared.to_dynamic(1)  # what the prefix cache keeps: one row, prompt + its own tokens
    repeated.batch_select_indices(torch.tensor([1]))
    assert back.get_seq_length() == repeated.get_seq_length() == 45
    assert isinstance(back, Int8KVCache) == (bits == 8)
    tokens = torch.tensor([[77]])
    torch.testing.assert_close(_logits(model, back, tokens), _logits(model, repeated, tokens), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("bits", [16, 8])
def test_branches_are_reproducible_and_the_prompt_is_reused_after_them(tiny_parts, bits) -> None:
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny", context_length=1024, kv_cache_bits=bits)
    request = GenerationRequest("The lantern swung over the harbour. " * 8, n=3, max_new_tokens=12,
                                sampling=SamplingParams(temperature=0.9, top_p=0.95), seed=11)
    first = [r.text for r in generate(engine, request)]
    again = [r.text for r in generate(engine, request)]  # now from the prefix cache that branch 0 left
    engine.clear_prefix_cache()
    cold = [r.text for r in generate(engine, request)]
    assert first == again == cold and len(first) == 3
