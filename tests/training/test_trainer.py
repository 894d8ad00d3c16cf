"""The trainer (resume equals an uninterrupted run), sliding-window perplexity, the QLoRA estimate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from app.engine.tiny import corpus_text
from app.training.corpus import pack, sample_windows
from app.training.memory import QloraPlan, qlora_peak_bytes
from app.training.perplexity import perplexity
from app.training.trainer import CHECKPOINT_NAME, TrainConfig, Trainer, causal_lm_loss

A42B = {"vocab_size": 100534, "hidden_size": 2560, "intermediate_size": 1728, "num_hidden_layers": 28,
        "num_attention_heads": 32, "num_experts": 64, "moe_top_k": 6, "num_shared_experts": 2}
GIB = 1024**3


def _fresh_model(tiny_model_dir: Path):
    import app.engine.xverse  # noqa: F401
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)


def _stream(tiny_parts) -> torch.Tensor:
    _, tokenizer = tiny_parts
    return pack(corpus_text().split("\n\n"), lambda t: tokenizer.encode(t, add_special_tokens=False), 3)


def _run(model, stream, steps: int, folder: Path | None, stop_at: int | None = None) -> Trainer:
    config = TrainConfig(steps=steps, learning_rate=3e-3, warmup_steps=2, checkpoint_every=2)
    trainer = Trainer(model, lambda step: sample_windows(stream, 2, 32, step), config, folder,
                      on_progress=(lambda p: trainer.cancel() if p.step == stop_at else None))
    trainer.run()
    return trainer


def test_a_cancelled_then_resumed_run_equals_an_uninterrupted_one(tiny_model_dir, tiny_parts, tmp_path):
    stream = _stream(tiny_parts)
    straight = _run(_fresh_model(tiny_model_dir), stream, 6, None)
    first = _run(_fresh_model(tiny_model_dir), stream, 6, tmp_path, stop_at=3)
    assert first.step == 3 and (tmp_path / CHECKPOINT_NAME).is_file()
    resumed = _run(_fresh_model(tiny_model_dir), stream, 6, tmp_path)
    assert resumed.step == 6
    assert [round(v, 5) for _, v in resumed.losses] == [round(v, 5) for _, v in straight.losses]
    for (name, a), b in zip(straight.model.named_parameters(), resumed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert straight.losses[-1][1] < straight.losses[0][1]  # it learns


def test_sliding_window_scores_every_token_once_and_matches_the_full_pass(tiny_parts):
    model, tokenizer = tiny_parts
    ids = torch.tensor(tokenizer.encode(corpus_text()[:400], add_special_tokens=False))
    full = perplexity(model, ids, window=ids.numel())
    with torch.no_grad():
        loss = model(input_ids=ids[None], labels=ids[None], use_cache=False).loss
    assert full.tokens == ids.numel() - 1
    assert math.isclose(full.perplexity, math.exp(float(loss)), rel_tol=1e-4)
    sliding = perplexity(model, ids, window=32, stride=16)
    assert sliding.tokens == ids.numel() - 1 and "sliding window 32" in sliding.method
    assert sliding.perplexity != pytest.approx(full.perplexity, rel=1e-6)  # shorter contexts differ
    with pytest.raises(ValueError):
        perplexity(model, ids, window=8, stride=9)


def test_the_a42b_qlora_estimate_fits_16_gib_at_1024_and_grows_with_length():
    totals = {seq: qlora_peak_bytes(A42B, QloraPlan(seq_len=seq))["total"] for seq in (512, 1024, 2048)}
    assert totals[512] < totals[1024] < totals[2048]
    assert totals[1024] <= 16 * GIB
    parts = qlora_peak_bytes(A42B, QloraPlan(seq_len=1024))
    assert 12 * GIB < parts["base_weights"] < 14 * GIB  # NF4 + double quant, embedding on CPU
    routed = qlora_peak_bytes(A42B, QloraPlan(seq_len=1024, include_routed=True))
    assert routed["lora_weights_grads"] > parts["lora_weights_grads"]


def test_chunked_loss_equals_the_full_loss_and_its_gradients(tiny_model_dir, tiny_parts):
    model = _fresh_model(tiny_model_dir)
    window = sample_windows(_stream(tiny_parts), 2, 40, 0)
    full = causal_lm_loss(model, window)
    full.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    chunked = causal_lm_loss(model, window, loss_chunk=16)  # 40 = 16 + 16 + 8
    chunked.backward()
    assert torch.allclose(full, chunked, atol=1e-5)
    for a, b in zip(expected, (p.grad for p in model.parameters())):
        assert torch.allclose(a, b, atol=1e-5)
