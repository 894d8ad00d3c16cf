"""The fused (stacked, device-side) MoE equals the per-expert path: the NF4 layout is bitsandbytes'
own bytes, logits agree within 1e-3 relative in fp32 for prefill and decode at batch 1-4, and
the engine streams identical tokens with branches, prefix reuse and branch compaction."""

from __future__ import annotations

import copy

import bitsandbytes.functional as bnb_functional
import pytest
import torch
from torch import nn

from app.engine import GenerationRequest, SamplingParams, generate
from app.engine.fused_moe import current_path, install_fused_moe, stackable_format
from app.engine.fusion import fuse_projections
from app.engine.kv_cache import new_cache
from app.engine.loading import load_model
from app.engine.transformers_engine import TransformersEngine
from app.engine.xverse.nf4 import NF4_VALUES, dequantize_nf4, nf4_from_bnb, pair_table, quantize_nf4
from nf4_layers import nf4_linear, quantize_like_the_loader

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SAMPLED = SamplingParams(temperature=0.9, top_p=0.95, top_k=0, repetition_penalty=1.0)
PROMPT = "夜色渐深，山门外的石阶上落满了松针，少年提着灯笼慢慢往上走。The lantern swung over the harbour"


@pytest.fixture(scope="module")
def nf4_pair(tiny_fp32):
    """(per-expert NF4 model, fused copy) sharing the same quantized bytes, fp32 compute."""
    model, tokenizer = tiny_fp32
    per_expert = quantize_like_the_loader(copy.deepcopy(model)).eval()
    fused = copy.deepcopy(per_expert)
    path = install_fused_moe(fused)
    fuse_projections(fused)
    assert path.name == "fused-torch" and "nf4" in path.detail
    return per_expert, fused, tokenizer


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max())


def test_layout_is_bitsandbytes_own_bytes() -> None:
    """Also after bitsandbytes repacked the layer for its CPU kernel (a forward ran first)."""
    assert torch.equal(torch.tensor(NF4_VALUES), bnb_functional.get_4bit_type("nf4", device="cpu").float())
    torch.manual_seed(0)
    linear = nn.Linear(128, 96, bias=False)
    quantized = nf4_linear(linear, torch.float32)
    codes, absmax = nf4_from_bnb(quantized)
    assert codes.shape == (96, 64) and absmax.shape == (96, 2)
    reference = bnb_functional.dequantize_4bit(quantized.weight.data, quantized.weight.quant_state)
    assert torch.equal(dequantize_nf4(codes, absmax, pair_table(torch.float32)), reference)
    own_codes, own_absmax = quantize_nf4(linear.weight.data)  # our quantizer picks the same codes
    repacked = nf4_linear(linear, torch.float32)
    repacked.support_avx512bf16_for_cpu = True
    with torch.no_grad():
        repacked(torch.randn(1, 128))
    assert torch.equal(nf4_from_bnb(repacked)[0], codes)
    assert (own_codes == codes).float().mean() > 0.99
    torch.testing.assert_close(own_absmax, absmax, rtol=1e-2, atol=0)  # bnb's absmax is double-quantized


@torch.no_grad()
def test_prefill_and_decode_logits_match_at_batch_1_to_4(nf4_pair) -> None:
    per_expert, fused, tokenizer = nf4_pair
    torch.manual_seed(1)
    for batch in (1, 2, 3, 4):
        prompts = torch.randint(262, tokenizer.vocab_size, (batch, 40))  # 40*2*batch slots: grouped prefill
        caches = [new_cache(per_expert.config, 16), new_cache(fused.config, 16)]
        want = per_expert(prompts, past_key_values=caches[0]).logits
        got = fused(prompts, past_key_values=caches[1]).logits
        assert relative_error(got, want) < 1e-3
        step = want[:, -1:].argmax(-1)  # [B, 1]
        for _ in range(4):  # decode steps: batch*top_k <= 64 slots, the gathered sync-free path
            want = per_expert(step, past_key_values=caches[0]).logits
            got = fused(step, past_key_values=caches[1]).logits
            assert relative_error(got, want) < 1e-3
            assert torch.equal(got.argmax(-1), want.argmax(-1))
            step = want.argmax(-1)


def test_dense_experts_stack_too_and_int8_ones_fall_back(tiny_fp32, tiny_model_dir) -> None:
    model, _ = tiny_fp32
    dense = copy.deepcopy(model)
    assert install_fused_moe(dense).detail == "dense stacked experts"
    ids = torch.tensor([[300, 301, 302, 303]])
    with torch.no_grad():
        assert relative_error(dense(ids).logits, model(ids).logits) < 1e-5
    int8, _ = load_model(tiny_model_dir, quantization="int8")
    layers = [m for m in int8.modules() if hasattr(m, "stacked")]
    assert stackable_format(layers)[0] is None
    assert install_fused_moe(int8).name == "per-expert"  # the automatic fallback, reported
    assert current_path(int8).name == "per-expert"
    with pytest.raises(ValueError, match="moe backend"):
        install_fused_moe(dense, "cuda-magic")


def engines(nf4_pair) -> tuple[TransformersEngine, TransformersEngine]:
    per_expert, fused, tokenizer = nf4_pair
    return (TransformersEngine(per_expert, tokenizer, model_id="per-expert", context_length=2048),
            TransformersEngine(fused, tokenizer, model_id="fused", context_length=2048))


def outputs(engine: TransformersEngine, request: GenerationRequest) -> list[tuple[str, str, int]]:
    return [(r.text, r.finish_reason, r.completion_tokens) for r in generate(engine, request)]


def test_engine_streams_identical_tokens_with_branches_reuse_and_compaction(nf4_pair) -> None:
    slow, fast = engines(nf4_pair)
    assert fast.info().moe_path.startswith("fused-torch") and slow.info().moe_path.startswith("per-expert")
    greedy = GenerationRequest(PROMPT, max_new_tokens=24, sampling=GREEDY)
    assert outputs(fast, greedy) == outputs(slow, greedy)
    for n in (2, 3, 4):  # sampled branches: distinct rows decoded as one batch
        request = GenerationRequest(PROMPT, n=n, max_new_tokens=20, sampling=SAMPLED, seed=n)
        assert outputs(fast, request) == outputs(slow, request)
    edited = GenerationRequest(PROMPT[:-8] + " and the rain", n=2, max_new_tokens=20, sampling=SAMPLED, seed=7)
    assert fast.cached_prefix_tokens > 0 and slow.cached_prefix_tokens > 0  # the edit reuses the prefix
    assert outputs(fast, edited) == outputs(slow, edited)
    free = generate(slow, GenerationRequest(PROMPT, n=4, max_new_tokens=30, sampling=SAMPLED, seed=3))
    stop = free[0].text[4:6]  # branch 0 hits it early: its row is compacted out of the batch
    stopping = GenerationRequest(PROMPT, n=4, max_new_tokens=30, sampling=SAMPLED, seed=3, stop=(stop,))
    got = outputs(fast, stopping)
    assert got == outputs(slow, stopping)
    assert got[0][1] == "stop" and any(finish == "length" for _, finish, _ in got[1:])
