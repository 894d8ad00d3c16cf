"""load_for_engine: the runtime choices made once at load (KV width from the memory estimate, dynamic
NTK past the trained length, fused MoE and projections), each reported in EngineInfo."""

from __future__ import annotations

import torch

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.engine_load import choose_kv_cache_bits, load_for_engine
from app.engine.memory_estimate import GIB
from app.engine.transformers_engine import TransformersEngine
from app.engine.xverse import XverseConfig

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
A4_2B = XverseConfig(num_experts=64, moe_top_k=6, num_shared_experts=2)


def test_kv_width_follows_the_memory_estimate() -> None:
    assert choose_kv_cache_bits(A4_2B, "nf4", 8192, True, False, free_bytes=int(15.5 * GIB))[0] == 8  # 16 GB card
    bits, why = choose_kv_cache_bits(A4_2B, "nf4", 8192, True, False, free_bytes=40 * GIB)
    assert bits == 16 and "fit" not in why
    assert choose_kv_cache_bits(A4_2B, "nf4", 2048, True, False, free_bytes=int(15.5 * GIB))[0] == 16
    assert choose_kv_cache_bits(A4_2B, "nf4", 2048, True, True, free_bytes=40 * GIB)[0] == 8  # offloading


def test_context_past_the_trained_length_turns_on_dynamic_ntk(tiny_model_dir) -> None:
    extended = load_for_engine(str(tiny_model_dir), quantization="fp32", context_length=12288)
    trained = load_for_engine(str(tiny_model_dir), quantization="fp32", context_length=8192)
    assert extended.model.model.rotary.ntk_factor == 1.5 and extended.report.rope_extended
    assert "dynamic NTK" in extended.report.context_note and "12288 > trained 8192" in extended.report.context_note
    assert trained.model.model.rotary.ntk_factor is None and trained.report.context_note == ""
    assert not hasattr(extended.model.config, "kv_cache_bits")
    ids = torch.tensor([list(range(300, 340))])
    with torch.no_grad():  # below the trained length dynamic NTK changes nothing
        assert torch.equal(extended.model(ids).logits, trained.model(ids).logits)
    engine = TransformersEngine(extended.model, extended.tokenizer, model_id="t", context_length=12288,
                                kv_cache_bits=extended.kv_cache_bits, runtime=extended.report)
    info = engine.info()
    assert info.rope_extended and info.context_note == extended.report.context_note
    assert info.moe_path.startswith("fused-torch") and info.kv_cache.startswith(f"{extended.kv_cache_bits}-bit")


def test_from_path_runs_the_fused_engine_like_the_plain_one(tiny_model_dir, tiny_parts) -> None:
    fused = TransformersEngine.from_path(tiny_model_dir, quantization="fp32", context_length=2048, kv_cache_bits=16)
    plain = TransformersEngine(*tiny_parts, model_id="plain", context_length=2048)
    assert fused.info().moe_path == "fused-torch (dense stacked experts)"
    assert plain.info().moe_path.startswith("per-expert")
    request = GenerationRequest("夜色渐深，山门外的石阶上落满了松针。", n=2, max_new_tokens=16, sampling=GREEDY)
    assert [r.text for r in generate(fused, request)] == [r.text for r in generate(plain, request)]
