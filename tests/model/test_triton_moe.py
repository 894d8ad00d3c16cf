"""The Triton MoE kernels (run by Triton's CPU interpreter, TRITON_INTERPRET=1) equal the pure-torch
reference for NF4 and dense stacked experts, with and without the shared-expert add."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, "tests/model")
    from nf4_layers import quantize_like_the_loader
    from app.engine.fused_moe import install_fused_moe
    from app.engine.xverse import XverseConfig, XverseForCausalLM
    from app.engine.xverse.triton_moe import triton_moe
    config = XverseConfig(vocab_size=300, hidden_size=128, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=4, num_experts=8, moe_top_k=2, num_shared_experts=2)
    worst = 0.0
    for quantized in (False, True):
        torch.manual_seed(0)
        model = XverseForCausalLM(config).eval()
        if quantized:
            model = quantize_like_the_loader(model)
        install_fused_moe(model, "torch")
        stacked = model.model.layers[0].mlp.stacked
        for tokens in (1, 3):
            x, ids = torch.randn(tokens, 128), torch.randint(0, 8, (tokens, 2))
            weights, shared = torch.rand(tokens, 2), torch.randn(tokens, 128)
            for extra in (None, shared):
                with torch.no_grad():
                    want = stacked._gathered(x, weights, ids, extra)
                    got = triton_moe(stacked, x, weights, ids, extra)
                worst = max(worst, float((got - want).abs().max() / want.abs().max()))
    print("WORST", worst)
""")


def test_triton_kernels_match_the_torch_reference_under_the_interpreter() -> None:
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    worst = float(done.stdout.split("WORST")[-1])
    assert worst < 1e-5
