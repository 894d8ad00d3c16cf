"""A5.7B on 16 GB through the engine's own load path: an NF4 MoE checkpoint (official on-disk format,
A5.7B's expert topology) that does not fit the accelerator's budget loads with part of each layer's
routed experts in CPU RAM, the most-used ones near, and decodes what the whole model decodes.

CPU-only: the "accelerator" is a second CPU device object, so the split, the calibration and the
moves are exercised, and the GPU memory itself is not (benchmarks/engine_gpu.py on a GPU)."""

from __future__ import annotations

import pytest
import torch

from app.engine import GenerationRequest, SamplingParams
from app.engine.engine_load import load_for_engine
from app.engine.expert_offload import calibration_ids, plan_expert_offload
from app.engine.expert_placement import MARGIN_BYTES, SplitExperts, router_usage
from app.engine.fused_moe import moe_layers
from app.engine.memory_estimate import GIB, estimate_memory, weight_bytes
from app.engine.tiny import build_tiny_checkpoint
from app.engine.transformers_engine import TransformersEngine

SHAPE = dict(hidden_size=128, num_layers=3, num_experts=64, top_k=6, num_shared_experts=2, intermediate_size=64,
             num_attention_heads=4)
CONTEXT, NEAR = 1024, 40
GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("a5_7b-shaped"), **SHAPE)


def budget_for(config, near: int) -> float:
    """GiB that hold everything but the routed experts, the margin, and `near` experts per layer."""
    routed = weight_bytes(config, "nf4")["routed_experts"]
    fixed = estimate_memory(config, "nf4", CONTEXT, 8, embed_on_cpu=True)["total"] - routed + MARGIN_BYTES
    per_layer_expert = routed / config.num_experts
    return (fixed + near * per_layer_expert + per_layer_expert / 2) / GIB


def engine(loaded) -> TransformersEngine:
    return TransformersEngine(loaded.model, loaded.tokenizer, model_id="a5.7b-shaped", context_length=CONTEXT,
                              quantization="nf4", kv_cache_bits=loaded.kv_cache_bits, runtime=loaded.report)


def greedy_text(loaded, prompt: str) -> str:
    events = engine(loaded).stream(GenerationRequest(prompt, max_new_tokens=12, sampling=GREEDY, seed=1))
    return "".join(event.text for event in events if hasattr(event, "text"))


@torch.no_grad()
def test_an_moe_over_budget_keeps_its_most_used_experts_near_and_decodes_like_the_whole(checkpoint) -> None:
    whole = load_for_engine(str(checkpoint), quantization="nf4", context_length=CONTEXT, kv_cache_bits=8,
                            embed_on_cpu=True)
    budget = budget_for(whole.model.config, NEAR)
    split = load_for_engine(str(checkpoint), quantization="nf4", context_length=CONTEXT, kv_cache_bits=8,
                            embed_on_cpu=True, max_gpu_memory_gib=budget, accelerator=torch.device("cpu"))
    assert f"{NEAR} of 64 routed experts per layer on the accelerator" in split.report.moe_path
    layers = moe_layers(split.model)
    assert all(isinstance(layer.stacked, SplitExperts) and layer.stacked.far.num_experts == 64 - NEAR
               for layer in layers)
    usage = router_usage(whole.model, calibration_ids(whole.tokenizer, torch.device("cpu")))
    for index, layer in enumerate(layers):  # near = the NEAR most-used experts on the calibration text
        ranked = torch.argsort(usage[index], descending=True, stable=True)
        assert not bool(layer.stacked.is_far[ranked[:NEAR]].any())
        assert bool(layer.stacked.is_far[ranked[NEAR:]].all())
    ids = torch.tensor([calibration_ids(whole.tokenizer, torch.device("cpu"))[0, :40].tolist()])
    torch.testing.assert_close(split.model(ids).logits, whole.model(ids).logits, rtol=0.05, atol=0.05)
    prompt = "夜色渐深，山门外的石阶上落满了松针。The lantern swung over the harbour."
    assert greedy_text(split, prompt) == greedy_text(whole, prompt)


def test_the_plan_is_none_when_the_model_fits_and_a_split_when_it_does_not(checkpoint) -> None:
    config = load_for_engine(str(checkpoint), quantization="nf4", context_length=CONTEXT).model.config
    assert plan_expert_offload(config, "nf4", CONTEXT, 8, True, budget_bytes=64 * GIB) is None
    assert plan_expert_offload(config, "bf16", CONTEXT, 8, True, budget_bytes=1) is None  # not NF4
    plan = plan_expert_offload(config, "nf4", CONTEXT, 8, True, budget_bytes=int(budget_for(config, 10) * GIB))
    assert plan is not None and plan.near_per_layer == 10
    assert plan_expert_offload(config, "nf4", CONTEXT, 8, True, budget_bytes=int(budget_for(config, 0) * GIB)) is None
