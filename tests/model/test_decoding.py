"""Cached incremental decoding equals full recompute (single rows and left-padded batches);
logits_to_keep; RoPE validity after meta-device loading; dynamic NTK off below the trained length."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from app.engine.kv_cache import new_cache
from app.engine.xverse import XverseConfig, XverseForCausalLM

PROMPTS = ["沈砚秋推开书铺的木门，", "The lighthouse keeper's daughter learned to read the weather"]


def greedy_full_recompute(model, ids: list[int], steps: int) -> tuple[list[int], list[torch.Tensor]]:
    """Greedy decoding with no cache: every step runs the whole sequence again."""
    ids, logits = list(ids), []
    for _ in range(steps):
        step_logits = model(torch.tensor([ids]), use_cache=False).logits[0, -1]
        logits.append(step_logits)
        ids.append(int(step_logits.argmax()))
    return ids, logits


def greedy_cached(model, ids: list[int], steps: int) -> tuple[list[int], list[torch.Tensor]]:
    """Greedy decoding with a KV cache: one prefill, then one token per step."""
    cache = new_cache(model.config, 16)
    out = model(torch.tensor([ids]), past_key_values=cache, logits_to_keep=1)
    ids, logits = list(ids), []
    for _ in range(steps):
        step_logits = out.logits[0, -1]
        logits.append(step_logits)
        ids.append(int(step_logits.argmax()))
        out = model(torch.tensor([[ids[-1]]]), past_key_values=cache)
    return ids, logits


@torch.no_grad()
def test_cached_decoding_equals_full_recompute(tiny_fp32) -> None:
    model, tokenizer = tiny_fp32
    for prompt in PROMPTS:
        ids = tokenizer.encode(prompt, add_special_tokens=False)
        full_ids, full_logits = greedy_full_recompute(model, ids, 12)
        cached_ids, cached_logits = greedy_cached(model, ids, 12)
        assert cached_ids == full_ids
        torch.testing.assert_close(torch.stack(cached_logits), torch.stack(full_logits), atol=1e-4, rtol=0)


@torch.no_grad()
def test_left_padded_batch_matches_single_rows(tiny_fp32) -> None:
    model, tokenizer = tiny_fp32
    batch = tokenizer(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    assert tokenizer.padding_side == "left" and bool((batch.attention_mask == 0).any())
    lengths = batch.attention_mask.sum(-1).tolist()
    batched_logits = model(**batch).logits
    for row, length in enumerate(lengths):
        single = model(batch.input_ids[row : row + 1, -length:]).logits[0]
        torch.testing.assert_close(batched_logits[row, -length:], single, atol=1e-4, rtol=0)
    generated = model.generate(**batch, max_new_tokens=10, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    for row, length in enumerate(lengths):
        ids = batch.input_ids[row, -length:].tolist()
        expected, _ = greedy_full_recompute(model, ids, 10)
        assert generated[row, -10:].tolist() == expected[-10:]


@torch.no_grad()
def test_left_padded_cached_decode_steps(tiny_fp32) -> None:
    """Decode steps of a padded batch (mask grows by one column per step) equal full recompute."""
    model, tokenizer = tiny_fp32
    batch = tokenizer(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    cache, mask = new_cache(model.config, 16), batch.attention_mask
    out = model(input_ids=batch.input_ids, attention_mask=mask, past_key_values=cache, logits_to_keep=1)
    ids = batch.input_ids
    for _ in range(5):
        next_ids = out.logits[:, -1].argmax(-1, keepdim=True)  # [B, 1]
        ids, mask = torch.cat([ids, next_ids], 1), torch.cat([mask, torch.ones_like(next_ids)], 1)
        out = model(input_ids=next_ids, attention_mask=mask, past_key_values=cache)
        full = model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, -1]
        torch.testing.assert_close(out.logits[:, -1], full, atol=1e-4, rtol=0)


@torch.no_grad()
def test_multi_token_step_on_a_cropped_cache(tiny_fp32) -> None:
    """Prefix reuse: crop the cache, then feed several tokens at once (needs an explicit causal mask)."""
    model, tokenizer = tiny_fp32
    ids = tokenizer.encode(PROMPTS[1], add_special_tokens=False)
    cache = new_cache(model.config, 16)
    model(torch.tensor([ids]), past_key_values=cache)
    cache.crop(-5)
    assert cache.get_seq_length() == len(ids) - 5
    resumed = model(torch.tensor([ids[-5:]]), past_key_values=cache).logits[0]
    full = model(torch.tensor([ids])).logits[0, -5:]
    torch.testing.assert_close(resumed, full, atol=1e-4, rtol=0)


@torch.no_grad()
def test_logits_to_keep_computes_only_the_last_position(tiny_fp32) -> None:
    model, tokenizer = tiny_fp32
    ids = torch.tensor([tokenizer.encode(PROMPTS[0], add_special_tokens=False)])
    full = model(ids).logits
    last = model(ids, logits_to_keep=1).logits
    assert last.shape == (1, 1, model.config.vocab_size)
    torch.testing.assert_close(last[0, 0], full[0, -1])


@torch.no_grad()
def test_rope_is_valid_after_meta_device_loading(tiny_model_dir, tiny_fp32) -> None:
    """from_pretrained builds on the meta device; the rotary tables must still be right."""
    loaded = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    assert list(loaded.buffers()) == []  # nothing non-persistent that could stay uninitialised
    fresh = XverseForCausalLM(loaded.config).eval()
    fresh.load_state_dict(loaded.state_dict())
    ids = torch.tensor([list(range(10, 40))])
    logits = loaded(ids).logits
    assert bool(torch.isfinite(logits).all())
    torch.testing.assert_close(logits, fresh(ids).logits)
    torch.testing.assert_close(logits, tiny_fp32[0](ids).logits)


@torch.no_grad()
def test_dynamic_ntk_changes_nothing_below_trained_length() -> None:
    shape = dict(vocab_size=50, hidden_size=32, intermediate_size=16, num_hidden_layers=1,
                 num_attention_heads=2, max_position_embeddings=64, num_experts=4, moe_top_k=2)
    torch.manual_seed(0)
    plain = XverseForCausalLM(XverseConfig(**shape)).eval()
    scaled = XverseForCausalLM(XverseConfig(rope_scaling={"type": "dynamic", "factor": 4.0}, **shape)).eval()
    scaled.load_state_dict(plain.state_dict())
    short = torch.randint(0, 50, (1, 64))
    assert torch.equal(plain(short).logits, scaled(short).logits)
    long = torch.randint(0, 50, (1, 100))
    assert not torch.allclose(plain(long).logits[0, -1], scaled(long).logits[0, -1])


@torch.no_grad()
def test_generate_samples_several_sequences_reproducibly(tiny_fp32) -> None:
    """model.generate with num_return_sequences (a benchmark baseline) works and is seed-determined."""
    model, tokenizer = tiny_fp32
    ids = torch.tensor([tokenizer.encode(PROMPTS[0], add_special_tokens=False)])

    def sample(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return model.generate(ids, do_sample=True, top_k=50, temperature=1.0, max_new_tokens=12,
                              num_return_sequences=3, min_new_tokens=12)

    first, again, other = sample(7), sample(7), sample(8)
    assert first.shape == (3, ids.shape[1] + 12)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert len({tuple(row.tolist()) for row in first}) > 1  # the rows are sampled independently
