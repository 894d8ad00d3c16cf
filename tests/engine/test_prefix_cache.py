"""PrefixCache holds only caches it can crop back to any prefix; a failed crop means a cold prefill."""

from __future__ import annotations

import torch
from transformers import MistralConfig, MistralForCausalLM
from transformers.cache_utils import (
    DynamicCache,
    DynamicLayer,
    DynamicSlidingWindowLayer,
    LinearAttentionAndFullAttentionLayer,
)

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.prefix_cache import PrefixCache
from app.engine.transformers_engine import TransformersEngine

from .conftest import build_byte_fallback_tokenizer

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
PROMPT = "The lantern swung over the harbour while the ferryman counted the coins twice. 夜色渐深，"


def filled_cache(layers: list, tokens: int) -> DynamicCache:
    """A real DynamicCache with the given layers, each holding `tokens` positions of K/V [1, 2, T, 4]."""
    cache = DynamicCache()
    cache.layers = layers
    for index in range(len(layers)):
        cache.update(torch.randn(1, 2, tokens, 4), torch.randn(1, 2, tokens, 4), index)
    return cache


def test_keep_holds_a_full_attention_cache():
    prefix = PrefixCache()
    prefix.keep(filled_cache([DynamicLayer(), DynamicLayer()], 6), list(range(6)))
    assert prefix.cached_tokens == 6
    cache, reusable = prefix.take([0, 1, 2, 3, 9, 9])
    assert (reusable, cache.get_seq_length()) == (4, 4)


def test_keep_refuses_a_cache_with_a_sliding_window_layer():
    prefix = PrefixCache()
    prefix.keep(filled_cache([DynamicLayer(), DynamicSlidingWindowLayer(sliding_window=4)], 3), [1, 2, 3])
    assert prefix.cached_tokens == 0
    assert prefix.take([1, 2, 3, 4]) == (None, 0)


def test_keep_refuses_a_cache_that_cannot_be_cropped():
    cache = DynamicCache()
    # A linear-attention layer whose state kind is not known yet says it cannot be cropped back.
    cache.layers = [DynamicLayer(), LinearAttentionAndFullAttentionLayer()]
    cache.update(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4), 0)
    prefix = PrefixCache()
    prefix.keep(cache, [1, 2, 3])
    assert prefix.cached_tokens == 0


def test_a_failing_crop_gives_no_cache_instead_of_an_error():
    cache = filled_cache([DynamicLayer(), DynamicLayer()], 6)
    prefix = PrefixCache()
    prefix.keep(cache, list(range(6)))
    # The held cache changes under the holder: a sliding layer past its window cannot be cropped.
    cache.layers[1] = DynamicSlidingWindowLayer(sliding_window=4)
    cache.layers[1].update(torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 4))
    assert prefix.take([0, 1, 2, 7]) == (None, 0)
    assert prefix.cached_tokens == 0


def test_a_sliding_window_model_generates_every_call_without_reusing_the_cache(tmp_path):
    tokenizer = build_byte_fallback_tokenizer(tmp_path / "tok")
    config = MistralConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=4, sliding_window=8,
                           max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = MistralForCausalLM(config).eval()
    engine = TransformersEngine(model, tokenizer, model_id="mistral", context_length=1024)
    assert engine.count_tokens(PROMPT) > 8  # the prompt runs past the window
    for prompt in (PROMPT, PROMPT + "山门外", PROMPT[:-10] + "the rain"):
        request = GenerationRequest(prompt, n=2, max_new_tokens=12, sampling=GREEDY)
        warm = generate(engine, request)
        assert all(r.finish_reason in ("stop", "length") for r in warm), [r.error for r in warm]
        assert engine.cached_prefix_tokens == 0
        cold = TransformersEngine(model, tokenizer, model_id="mistral", context_length=1024)
        assert [r.text for r in warm] == [r.text for r in generate(cold, request)]
