"""Our XVERSE forward equals an independent, plainly written float64 reference of the same math."""

from __future__ import annotations

import math

import pytest
import torch

from app.engine.xverse import XverseConfig, XverseForCausalLM
from app.engine.xverse.moe import route


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return weight * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def swiglu(x: torch.Tensor, weights: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    gate = x @ weights[f"{prefix}.gate_proj.weight"].T
    up = x @ weights[f"{prefix}.up_proj.weight"].T
    return (gate / (1 + torch.exp(-gate)) * up) @ weights[f"{prefix}.down_proj.weight"].T


def rope(x: torch.Tensor, position: int, theta: float) -> torch.Tensor:
    """x [heads, D] for one token: pairs (i, i + D/2) rotated by position * theta^(-2i/D)."""
    dim = x.shape[-1]
    out = x.clone()
    for i in range(dim // 2):
        angle = position * theta ** (-2 * i / dim)
        c, s = math.cos(angle), math.sin(angle)
        out[:, i] = x[:, i] * c - x[:, i + dim // 2] * s
        out[:, i + dim // 2] = x[:, i + dim // 2] * c + x[:, i] * s
    return out


def reference_moe(x: torch.Tensor, weights: dict, prefix: str, config: XverseConfig) -> torch.Tensor:
    """Token by token: softmax over all experts, top-k, renormalize, sum of experts + shared."""
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        probs = torch.softmax(weights[f"{prefix}.router.weight"] @ x[t], dim=-1)
        chosen = sorted(range(len(probs)), key=lambda e: -probs[e].item())[: config.moe_top_k]
        total = sum(probs[e] for e in chosen) if config.norm_topk_prob else 1.0
        for e in chosen:
            out[t] += probs[e] / total * swiglu(x[t : t + 1], weights, f"{prefix}.experts.{e}")[0]
        if config.num_shared_experts:
            out[t] += swiglu(x[t : t + 1], weights, f"{prefix}.shared_experts")[0]
    return out


def reference_attention(x: torch.Tensor, weights: dict, prefix: str, config: XverseConfig) -> torch.Tensor:
    heads, dim = config.num_attention_heads, config.head_dim
    q = (x @ weights[f"{prefix}.q_proj.weight"].T).view(-1, heads, dim)
    k = (x @ weights[f"{prefix}.k_proj.weight"].T).view(-1, heads, dim)
    v = (x @ weights[f"{prefix}.v_proj.weight"].T).view(-1, heads, dim)
    q = torch.stack([rope(q[t], t, config.rope_theta) for t in range(len(q))])
    k = torch.stack([rope(k[t], t, config.rope_theta) for t in range(len(k))])
    out = torch.zeros_like(q)
    for t in range(len(q)):
        scores = torch.einsum("hd,shd->hs", q[t], k[: t + 1]) / math.sqrt(dim)
        out[t] = torch.einsum("hs,shd->hd", torch.softmax(scores, dim=-1), v[: t + 1])
    return out.reshape(len(q), -1) @ weights[f"{prefix}.o_proj.weight"].T


def reference_logits(model: XverseForCausalLM, ids: list[int]) -> torch.Tensor:
    """Logits [T, V] in float64, computed from the state dict alone."""
    config = model.config
    weights = {name: tensor.detach().to(torch.float64) for name, tensor in model.state_dict().items()}
    x = weights["model.embed_tokens.weight"][ids]
    for layer in range(config.num_hidden_layers):
        prefix = f"model.layers.{layer}"
        normed = rms_norm(x, weights[f"{prefix}.input_layernorm.weight"], config.rms_norm_eps)
        x = x + reference_attention(normed, weights, f"{prefix}.self_attn", config)
        normed = rms_norm(x, weights[f"{prefix}.post_attention_layernorm.weight"], config.rms_norm_eps)
        if config.is_moe:
            x = x + reference_moe(normed, weights, f"{prefix}.mlp", config)
        else:
            x = x + swiglu(normed, weights, f"{prefix}.mlp")
    x = rms_norm(x, weights["model.norm.weight"], config.rms_norm_eps)
    return x @ weights["lm_head.weight"].T


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours.to(torch.float64) - reference).norm() / reference.norm()).item()


def test_moe_forward_matches_reference(tiny_fp32) -> None:
    model, tokenizer = tiny_fp32
    ids = tokenizer.encode("夜里下着雨。The keeper counted the gulls.", add_special_tokens=False)
    with torch.no_grad():
        ours = model(torch.tensor([ids])).logits[0]
    assert relative_error(ours, reference_logits(model, ids)) < 1e-5


def small_config(**overrides) -> XverseConfig:
    shape = dict(vocab_size=97, hidden_size=64, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4)
    return XverseConfig(**{**shape, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # dense (7B/13B style): no num_experts
        {"num_experts": 6, "moe_top_k": 3, "num_shared_experts": 1, "norm_topk_prob": False},
        {"num_experts": 4, "moe_top_k": 1, "num_shared_experts": None},
    ],
    ids=["dense", "moe-no-renormalize", "moe-top1-no-shared"],
)
def test_variants_match_reference(overrides: dict) -> None:
    torch.manual_seed(3)
    model = XverseForCausalLM(small_config(rope_theta=10000.0, **overrides)).eval()
    ids = torch.randint(0, 97, (11,)).tolist()
    with torch.no_grad():
        ours = model(torch.tensor([ids])).logits[0]
    assert relative_error(ours, reference_logits(model, ids)) < 1e-5
    assert (model.config.num_experts is None) == (not hasattr(model.model.layers[0].mlp, "router"))


@pytest.mark.parametrize("renormalize", [True, False])
def test_router_weights(renormalize: bool) -> None:
    torch.manual_seed(0)
    hidden, router = torch.randn(20, 16), torch.randn(8, 16)
    weights, expert_ids = route(hidden, router, top_k=3, renormalize=renormalize)
    sums = weights.sum(-1)
    if renormalize:
        torch.testing.assert_close(sums, torch.ones(20))
    else:
        assert bool((sums < 1).all())
    probs = torch.softmax(hidden @ router.T, dim=-1)
    assert torch.equal(expert_ids, probs.topk(3, dim=-1).indices)
    assert weights.dtype == torch.float32


def test_config_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="moe_top_k"):
        small_config(num_experts=4, moe_top_k=5)
    with pytest.raises(ValueError, match="divisible"):
        small_config(hidden_size=62)
    with pytest.raises(ValueError, match="dynamic"):
        small_config(rope_scaling={"type": "yarn", "factor": 2.0})


@torch.no_grad()
def test_single_token_dispatch_matches_batched_dispatch() -> None:
    """The batch-1 decode shortcut and the sorted multi-token path give the same expert mix."""
    torch.manual_seed(5)
    model = XverseForCausalLM(small_config(num_experts=8, moe_top_k=3, num_shared_experts=2)).eval()
    moe = model.model.layers[0].mlp
    tokens = torch.randn(1, 9, 64)
    batched = moe(tokens)
    one_by_one = torch.cat([moe(tokens[:, t : t + 1]) for t in range(9)], dim=1)
    torch.testing.assert_close(one_by_one, batched, atol=1e-6, rtol=1e-5)
