"""The Triton int8 decode-attention kernel (run by Triton's CPU interpreter, TRITON_INTERPRET=1) equals
the pure-torch reader: directly (windows of bigger buffers, key masks, grouped queries, several
splits) and inside the model (the int8 decode paths: dynamic cache, static cache, shared prompt)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parents[2]

KERNEL = textwrap.dedent("""
    import torch
    from app.engine.int8_attention import _attend, attend_int8
    from app.engine.kv_cache import quantize_int8
    from app.engine.triton_attention import attend_int8_triton, usable
    torch.manual_seed(0)
    worst = 0.0
    cases = ((1, 4, 1, 64, 300, 300, None), (3, 2, 4, 32, 1100, 1024, 700), (1, 3, 16, 128, 40, 40, 17),
             (2, 2, 1, 16, 2000, 1600, 1), (1, 4, 1, 80, 700, 600, 599), (2, 2, 3, 96, 90, 90, None))
    # head widths 80 and 96: XVERSE-Ent-A4.2B's and A5.7B's (not powers of two)
    for batch, heads, queries, dim, capacity, window, visible in cases:
        q = torch.randn(batch, heads, queries, dim)
        (kc, ks), (vc, vs) = (quantize_int8(torch.randn(batch, heads, capacity, dim)) for _ in range(2))
        kc, vc, ks, vs = (t[:, :, :window] for t in (kc, vc, ks, vs))  # a window of bigger buffers
        mask = None if visible is None else (torch.arange(window) < visible)[None, None, None, :]
        assert usable(q)
        got, got_lse = attend_int8_triton(q, (kc, vc), (ks, vs), mask)
        want, want_lse = _attend(q, (kc, vc), (ks, vs), mask, 4096, want_lse=True)
        worst = max(worst, float((got - want).abs().max() / want.abs().max()),
                    float((got_lse - want_lse.squeeze(-1)).abs().max()))
    from app.engine.shared_prefix import reference_attention_with_lse
    from app.engine.triton_attention import attend_16bit_triton
    for dtype in (torch.float32, torch.bfloat16):  # the 16-bit cache, read as it is
        q, k, v = (torch.randn(2, 2, n, 80, dtype=dtype) for n in (4, 900, 900))
        mask = (torch.arange(900) < 611)[None, None, None, :]
        got, got_lse = attend_16bit_triton(q, k, v, mask)
        want, want_lse = reference_attention_with_lse(q, k, v, mask)
        error = max(float((got.float() - want.float()).abs().max() / want.float().abs().max()),
                    float((got_lse - want_lse).abs().max()))
        print("BF16" if dtype == torch.bfloat16 else "FP32", error)
    q = torch.randn(2, 8, 1, 32)  # grouped-query decode through attend_int8: 8 query heads on 2 KV heads
    (kc, ks), (vc, vs) = (quantize_int8(torch.randn(2, 2, 90, 32)) for _ in range(2))
    got = attend_int8(q, (kc, vc), (ks, vs), None)
    want, _ = _attend(q, (kc.repeat_interleave(4, 1), vc.repeat_interleave(4, 1)),
                      (ks.repeat_interleave(4, 1), vs.repeat_interleave(4, 1)), None, 4096, want_lse=False)
    worst = max(worst, float((got - want).abs().max() / want.abs().max()))
    wide = torch.randn(1, 2, 50, 2 * 32)[..., ::2]  # a last dimension that is not contiguous
    (kc, ks), (vc, vs) = quantize_int8(wide.contiguous()), quantize_int8(torch.randn(1, 2, 50, 32))
    codes = torch.zeros(1, 2, 50, 64, dtype=torch.int8)
    codes[..., ::2] = kc
    q = torch.randn(1, 2, 1, 32)
    got, _ = attend_int8_triton(q, (codes[..., ::2], vc), (ks, vs), None)
    want, _ = _attend(q, (kc, vc), (ks, vs), None, 4096, want_lse=False)
    worst = max(worst, float((got - want).abs().max() / want.abs().max()))
    print("WORST", worst)
""")

MODEL = textwrap.dedent("""
    import sys, torch
    import app.engine.xverse  # noqa: F401
    from transformers import AutoModelForCausalLM
    from app.engine.kv_cache import new_cache
    from app.engine.op_census import OpCensus
    from app.engine.static_branches import SharedPromptStaticCache
    from app.engine.static_cache import StaticKVCache, new_static_buffers
    folder, out = sys.argv[1], sys.argv[2]
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    config = model.config
    layers, heads, dim = config.num_hidden_layers, config.num_key_value_heads, config.head_dim
    cpu = torch.device("cpu")
    with torch.no_grad(), OpCensus() as census:
        dynamic = new_cache(config, 8)
        model(torch.tensor([list(range(300, 340))]), past_key_values=dynamic)
        prompt = StaticKVCache(layers, 1, heads, dim, 1024, dtype=torch.float32, device=cpu, bits=8)
        prompt.load(dynamic, 1)
        storage = new_static_buffers(layers, (4, heads, 256, dim), dtype=torch.float32, device=cpu, bits=8)
        shared = SharedPromptStaticCache(prompt, 3, storage)
        shared.start()
        shared.choose_windows(graphed=True)
        branches = model(torch.tensor([[341], [342], [343]]), cache=shared).logits
        prompt.choose_windows(graphed=True)
        single = model(torch.tensor([[344]]), cache=prompt).logits
        free = model(torch.tensor([[345]]), past_key_values=dynamic).logits
    launches = census.kernels["triton_attention.split"] / layers
    torch.save({"branches": branches, "single": single, "dynamic": free, "launches": launches}, out)
""")


def _interpreted(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_int8_kernel_matches_the_torch_reader_under_the_interpreter() -> None:
    done = _interpreted(KERNEL)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(line.split() for line in done.stdout.splitlines() if line.split()[:1] in (["WORST"], ["FP32"], ["BF16"]))
    assert float(figures["WORST"]) < 1e-5 and float(figures["FP32"]) < 1e-5
    assert float(figures["BF16"]) < 1e-2  # both round their fp32 result to bf16 once


def test_int8_decode_steps_give_the_same_logits_with_the_kernel(tiny_model_dir, tmp_path) -> None:
    """The same script without the interpreter runs the pure-torch reader: the logits agree."""
    runs = {}
    for name, interpreted in (("kernel", True), ("torch", False)):
        out = tmp_path / f"{name}.pt"
        if interpreted:
            done = _interpreted(MODEL, str(tiny_model_dir), str(out))
        else:
            done = subprocess.run([sys.executable, "-c", MODEL, str(tiny_model_dir), str(out)], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                                  timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[name] = torch.load(out)
    # per layer: the shared step's two parts, the batch-1 static step, the dynamic cache's step
    assert runs["kernel"]["launches"] == 4 and runs["torch"]["launches"] == 0
    for part in ("branches", "single", "dynamic"):
        torch.testing.assert_close(runs["kernel"][part], runs["torch"][part], atol=1e-4, rtol=1e-4)
