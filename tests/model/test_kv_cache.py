"""The int8 KV cache: bounded quantization error, DynamicCache-compatible edits, greedy agreement."""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache

from app.engine.kv_cache import Int8KVCache, dequantize_int8, new_cache, quantize_int8


def test_quantization_error_is_bounded_by_half_a_step() -> None:
    torch.manual_seed(0)
    states = torch.randn(2, 4, 9, 32) * torch.linspace(0.1, 10, 9)[None, None, :, None]
    codes, scales = quantize_int8(states)
    assert codes.dtype == torch.int8 and scales.shape == (2, 4, 9, 1)
    error = (dequantize_int8(codes, scales) - states).abs()
    assert bool((error <= scales / 2 + 1e-6).all())
    zero_codes, zero_scales = quantize_int8(torch.zeros(1, 1, 2, 8))
    assert bool((dequantize_int8(zero_codes, zero_scales) == 0).all())


def fill(cache, keys: torch.Tensor, values: torch.Tensor, layers: int = 2) -> None:
    for layer in range(layers):
        cache.update(keys + layer, values - layer, layer)


def test_crop_and_batch_edits_mirror_dynamic_cache() -> None:
    torch.manual_seed(1)
    keys, values = torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    int8, plain = Int8KVCache(), DynamicCache()
    fill(int8, keys, values)
    fill(plain, keys, values)
    for edit in (lambda c: c.crop(-3), lambda c: c.batch_repeat_interleave(3),
                 lambda c: c.batch_select_indices(torch.tensor([0, 2]))):
        edit(int8)
        edit(plain)
        assert int8.get_seq_length() == plain.get_seq_length()
        for (k8, v8, _), layer in zip(int8, plain.layers):
            assert k8.shape == layer.keys.shape
            torch.testing.assert_close(k8, layer.keys, atol=0.05, rtol=0)
            torch.testing.assert_close(v8, layer.values, atol=0.05, rtol=0)
    step_k, step_v = int8.update(torch.ones(2, 2, 1, 8), torch.ones(2, 2, 1, 8), 0)
    assert step_k.shape == (2, 2, 5, 8) and int8.get_seq_length() == 5


def test_new_cache_picks_the_width(tiny_fp32) -> None:
    config = tiny_fp32[0].config
    assert isinstance(new_cache(config, 8), Int8KVCache)
    assert type(new_cache(config, 16)) is DynamicCache


AGREEMENT_PROMPTS = (
    "第二章 无名之书\n册子里没有一个字，",
    "Chapter Two\n\nThe stranger's name was",
    "江南的雨总是下得不紧不慢。",
    "Her father said the sea kept its own ledger.",
    "那一夜，书铺的灯一直亮到天明。",
    "Notes for the writer: keep the point of view close;",
)


def int8_predictions_over(model, prompt_ids: torch.Tensor, new_tokens: torch.Tensor) -> torch.Tensor:
    """Greedy prediction at each of the 16-bit run's positions, attending through an int8 cache.

    The prompt is prefilled into the cache, then the 16-bit run's tokens are fed in one step: codes
    and scales are per (token, head), so they are the same as when appended one token at a time.
    """
    cache = Int8KVCache()
    first = model(prompt_ids, past_key_values=cache, logits_to_keep=1).logits[0, -1]
    rest = model(new_tokens[None, :-1], past_key_values=cache).logits[0]  # [63, V]
    assert cache.get_seq_length() == prompt_ids.shape[1] + len(new_tokens) - 1
    assert cache.layers[0].keys.dtype == torch.int8
    return torch.cat([first[None], rest]).argmax(-1)


@torch.no_grad()
def test_greedy_64_tokens_agree_with_16_bit_cache(tiny_fp32) -> None:
    """64 greedy tokens per prompt; the int8 cache must pick the same token at >= 95% of positions.

    Each position is decoded over the 16-bit run's own prefix (teacher forcing): a random model's
    top-2 logits are often within 1e-3, and one flip in free-running decoding would shift every
    later position, measuring chaos rather than cache accuracy.
    """
    model, tokenizer = tiny_fp32
    agree = total = 0
    for prompt in AGREEMENT_PROMPTS:
        ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
        reference = model.generate(ids, max_new_tokens=64, do_sample=False, past_key_values=DynamicCache())
        new_tokens = reference[0, ids.shape[1]:]
        assert len(new_tokens) == 64
        agree += int((int8_predictions_over(model, ids, new_tokens) == new_tokens).sum())
        total += len(new_tokens)
    assert agree / total >= 0.95, f"{agree}/{total}"


@torch.no_grad()
def test_an_int8_cache_passed_to_generate_is_used(tiny_fp32) -> None:
    model, tokenizer = tiny_fp32
    ids = torch.tensor([tokenizer.encode("雨停了。", add_special_tokens=False)])
    cache = new_cache(model.config, 8)
    out = model.generate(ids, max_new_tokens=6, do_sample=False, return_dict_in_generate=True, past_key_values=cache)
    assert cache.get_seq_length() == ids.shape[1] + 5 and cache.layers[0].keys.dtype == torch.int8
    assert out.sequences.shape == (1, ids.shape[1] + 6)
    assert not hasattr(model.config, "kv_cache_bits")


def test_int8_layer_writes_in_place_and_matches_a_fresh_quantization() -> None:
    """Decode steps, crop and repeat leave codes/scales equal to quantizing the same sequence at once,
    and the steps after a repeat write into the repeated buffers instead of copying the cache."""
    torch.manual_seed(2)
    prompt_k, prompt_v = torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    cache = Int8KVCache()
    cache.update(prompt_k, prompt_v, 0)
    cache.update(torch.randn(2, 2, 1, 8), torch.randn(2, 2, 1, 8), 0)
    cache.crop(-1)  # back to the prompt; the next write overwrites the stale position
    cache.batch_repeat_interleave(2)
    layer = cache.layers[0]
    buffer_addresses = [buffer.data_ptr() for buffer in layer._buffers]
    steps_k, steps_v = torch.randn(4, 2, 5, 8), torch.randn(4, 2, 5, 8)
    for step in range(5):
        got_k, got_v = cache.update(steps_k[..., step : step + 1, :], steps_v[..., step : step + 1, :], 0)
    assert [buffer.data_ptr() for buffer in layer._buffers] == buffer_addresses
    whole_k = torch.cat([prompt_k.repeat_interleave(2, dim=0), steps_k], dim=-2)  # [4, 2, 11, 8]
    whole_v = torch.cat([prompt_v.repeat_interleave(2, dim=0), steps_v], dim=-2)
    assert torch.equal(got_k, dequantize_int8(*quantize_int8(whole_k)))
    assert torch.equal(got_v, dequantize_int8(*quantize_int8(whole_v)))
    assert layer.keys.dtype == torch.int8 and cache.get_seq_length() == 11


def test_int8_attention_in_place_equals_sdpa_over_dequantized_keys() -> None:
    """attend_int8 (codes read in place, scales factored out, online softmax over blocks) equals
    SDPA over the dequantized K/V, with and without a padding mask, with GQA."""
    from torch.nn import functional as F

    from app.engine.int8_attention import attend_int8

    torch.manual_seed(3)
    query = torch.randn(2, 4, 1, 16)
    keys, values = torch.randn(2, 2, 37, 16), torch.randn(2, 2, 37, 16)
    (key_codes, key_scales), (value_codes, value_scales) = quantize_int8(keys), quantize_int8(values)
    dense_k = dequantize_int8(key_codes, key_scales).repeat_interleave(2, dim=1)
    dense_v = dequantize_int8(value_codes, value_scales).repeat_interleave(2, dim=1)
    mask = torch.ones(2, 1, 1, 37, dtype=torch.bool)
    mask[1, ..., :5] = False  # left padding of row 1
    for block in (4096, 8):  # one block, and five blocks with online softmax
        for attn_mask in (None, mask):
            got = attend_int8(query, (key_codes, value_codes), (key_scales, value_scales), attn_mask, block=block)
            want = F.scaled_dot_product_attention(query, dense_k, dense_v, attn_mask=attn_mask)
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    several = torch.randn(2, 4, 3, 16)  # three new tokens at once: causal among themselves
    got = attend_int8(several, (key_codes, value_codes), (key_scales, value_scales), None, block=8)
    want = F.scaled_dot_product_attention(several, dense_k, dense_v,
                                          attn_mask=torch.ones(37, 37, dtype=torch.bool).tril()[-3:])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
