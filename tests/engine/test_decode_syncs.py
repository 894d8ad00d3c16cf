"""Invariants of the decode step, counted with app.engine.op_census (CPU proxy of GPU launches):
exactly one host read per decoded token on the fused path (the sampled ids, one step behind), no
other host sync, and a per-token op count that does not grow with the context (int8 read in place)."""

from __future__ import annotations

import copy

import pytest

from app.engine import GenerationRequest, SamplingParams
from app.engine.fused_moe import install_fused_moe
from app.engine.fusion import fuse_projections
from app.engine.op_census import OpCensus
from app.engine.transformers_engine import TransformersEngine

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SAMPLED = SamplingParams(temperature=0.8, top_p=0.9, top_k=40, repetition_penalty=1.1)
SHORT, LONG = 6, 18


@pytest.fixture(scope="module")
def fused_model(tiny_parts):
    model = copy.deepcopy(tiny_parts[0])
    assert install_fused_moe(model).name == "fused-torch"
    fuse_projections(model)
    return model


def prompt_of(engine: TransformersEngine, tokens: int) -> str:
    tokenizer = engine._tokenizer
    ids = tokenizer.encode("夜色渐深，山门外的石阶上落满了松针。The lantern swung. " * (tokens // 6 + 2),
                           add_special_tokens=False)
    return tokenizer.decode(ids[:tokens])


def per_token(engine: TransformersEngine, prompt: str, sampling: SamplingParams, n: int = 1) -> tuple[float, float, set]:
    """Marginal (kernels, syncs) per decode step and the names of the syncs seen (LONG minus SHORT)."""
    engine.stream(GenerationRequest(prompt, max_new_tokens=2))  # validate
    list(engine.stream(GenerationRequest(prompt, max_new_tokens=2, sampling=sampling)))  # warm the prefix
    counts, names = [], set()
    for new_tokens in (SHORT, LONG):
        request = GenerationRequest(prompt, n=n, max_new_tokens=new_tokens, sampling=sampling, seed=5)
        with OpCensus() as census:
            done = [e for e in engine.stream(request) if not hasattr(e, "text")]
        assert all(d.completion_tokens == new_tokens for d in done)  # no early stop muddles the difference
        counts.append(census.snapshot())
        names |= set(census.syncs)
    steps = LONG - SHORT
    return (counts[1][0] - counts[0][0]) / steps, (counts[1][1] - counts[0][1]) / steps, names


@pytest.mark.parametrize("bits", [16, 8])
def test_one_host_read_per_token_and_nothing_else(fused_model, tiny_parts, bits):
    engine = TransformersEngine(fused_model, tiny_parts[1], model_id="fused", context_length=2048, kv_cache_bits=bits)
    prompt = prompt_of(engine, 64)
    for sampling, n in ((GREEDY, 1), (SAMPLED, 1), (SAMPLED, 3)):
        kernels, syncs, names = per_token(engine, prompt, sampling, n)
        assert syncs == 1, (sampling, n, syncs, names)
    # the only syncs of a whole call: prefill's per-layer expert counts and the per-step id reads
    assert names <= {"tolist", "bincount"}


def test_per_token_ops_do_not_grow_with_the_context(fused_model, tiny_parts):
    for bits in (16, 8):
        engine = TransformersEngine(fused_model, tiny_parts[1], model_id="fused", context_length=4096,
                                    kv_cache_bits=bits)
        short = per_token(engine, prompt_of(engine, 64), GREEDY)[0]
        long = per_token(engine, prompt_of(engine, 1500), GREEDY)[0]
        assert short == long, (bits, short, long)


def test_the_census_sees_the_per_expert_path_syncs(tiny_parts):
    """The counter can fail: the per-expert path reads expert ids on the host in every layer."""
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="per-expert", context_length=2048)
    _, syncs, names = per_token(engine, prompt_of(engine, 64), GREEDY)
    assert syncs == 1 + model.config.num_hidden_layers and "tolist" in names
