"""Expert-level placement for A5.7B on 16 GB: an A5.7B-shaped tiny model (64 experts, top-6, 2 shared)
with a subset of each layer's experts on a second device object gives the unsplit logits; the split
follows the memory estimate of the real config shape."""

from __future__ import annotations

import copy

import torch

from app.engine.expert_placement import SplitExperts, place_experts, router_usage, split_for_memory
from app.engine.fused_moe import install_fused_moe
from app.engine.memory_estimate import GIB
from app.engine.xverse import XverseConfig, XverseForCausalLM

from nf4_layers import quantize_like_the_loader

A5_7B_TINY = dict(vocab_size=400, hidden_size=128, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                  num_experts=64, moe_top_k=6, num_shared_experts=2)
A5_7B_SHAPE = {"vocab_size": 128000, "hidden_size": 3072, "intermediate_size": 1728, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 32, "num_experts": 64, "moe_top_k": 6,
               "num_shared_experts": 2, "max_position_embeddings": 8192}


@torch.no_grad()
def test_experts_split_over_two_devices_give_the_unsplit_logits() -> None:
    torch.manual_seed(0)
    model = quantize_like_the_loader(XverseForCausalLM(XverseConfig(**A5_7B_TINY)).eval())
    install_fused_moe(model)
    split = copy.deepcopy(model)
    ids = torch.randint(10, 400, (1, 48))
    usage = router_usage(split, ids)
    assert usage.shape == (3, 64) and int(usage.sum()) == 3 * 48 * 6
    second_device = torch.device("cpu")  # a second device object standing in for the host side
    placement = place_experts(split, 40, second_device, usage)
    assert "40 of 64" in placement.describe()
    layer = split.model.layers[0].mlp.stacked
    assert isinstance(layer, SplitExperts) and layer.far.num_experts == 24 and layer.far_device is second_device
    most_used = torch.argsort(usage[0], descending=True, stable=True)[:40]
    assert not bool(layer.is_far[most_used].any())  # the most-used experts stay near
    want, got = model(ids).logits, split(ids).logits  # prefill (grouped path on both parts)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for batch in (1, 3):  # decode-sized steps: gathered path near, the far slots on the second device
        step = torch.randint(10, 400, (batch, 1))
        torch.testing.assert_close(split(step).logits, model(step).logits, rtol=1e-5, atol=1e-5)


def test_split_follows_the_memory_estimate() -> None:
    on_16gb = split_for_memory(A5_7B_SHAPE, "nf4", 8192, 8, free_bytes=int(15.5 * GIB))
    assert 0 < on_16gb.near_per_layer < 64
    assert split_for_memory(A5_7B_SHAPE, "nf4", 8192, 8, free_bytes=80 * GIB).near_per_layer == 64
    assert split_for_memory(A5_7B_SHAPE, "nf4", 8192, 8, free_bytes=2 * GIB).near_per_layer == 0
