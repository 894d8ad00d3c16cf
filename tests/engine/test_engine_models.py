"""The local engine is model-agnostic: a plain Llama, and the XVERSE model with its 8-bit KV cache."""

from __future__ import annotations

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.transformers_engine import TransformersEngine

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
PROMPT = "The lantern swung over the harbour while the ferryman counted the coins twice. 夜色渐深，"


def assert_reuse_is_invisible(model, tokenizer, kv_cache_bits: int = 16) -> None:
    reusing = TransformersEngine(model, tokenizer, model_id="m", context_length=1024, kv_cache_bits=kv_cache_bits)
    generate(reusing, GenerationRequest(PROMPT, max_new_tokens=8, sampling=GREEDY))
    for prompt in (PROMPT + "山门外", PROMPT[:-10] + "the rain", PROMPT):
        request = GenerationRequest(prompt, n=2, max_new_tokens=24, sampling=GREEDY)
        assert reusing.cached_prefix_tokens > 0
        warm = [(r.text, r.completion_tokens) for r in generate(reusing, request)]
        cold = TransformersEngine(model, tokenizer, model_id="m", context_length=1024, kv_cache_bits=kv_cache_bits)
        assert warm == [(r.text, r.completion_tokens) for r in generate(cold, request)]


def test_any_causal_lm_streams_branches(llama_parts):
    model, tokenizer = llama_parts
    engine = TransformersEngine(model, tokenizer, model_id="llama", context_length=1024)
    results = generate(engine, GenerationRequest(PROMPT, n=3, max_new_tokens=16, seed=2))
    assert len({r.text for r in results}) == 3
    assert all(r.finish_reason in ("stop", "length") for r in results)


def test_reuse_is_invisible_on_llama(llama_parts):
    assert_reuse_is_invisible(*llama_parts)


def test_reuse_is_invisible_with_the_int8_kv_cache(tiny_model_dir):
    import app.engine.xverse  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.engine.kv_cache import Int8KVCache

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    engine = TransformersEngine(model, tokenizer, model_id="m", context_length=1024, kv_cache_bits=8)
    generate(engine, GenerationRequest(PROMPT, max_new_tokens=4, sampling=GREEDY))
    assert isinstance(engine._prefix._cache, Int8KVCache)  # the engine really kept the 8-bit cache
    assert engine.info().kv_cache.startswith("8-bit")
    assert_reuse_is_invisible(model, tokenizer, kv_cache_bits=8)
