"""GPU benchmark of the local engine on a full-size random XVERSE-Ent-A4.2B in NF4 (CUDA only).

Builds the A4.2B shape with random NF4 weights layer by layer (benchmarks/memory_fit.py: never
whole in bf16; router and lm_head unquantized; input embedding in CPU RAM; int8 KV cache unless
--kv-bits 16) and drives it through TransformersEngine, as the studio does. Measures:
  decode tokens/s at batch 1 with 512 / 2K / 8K tokens of context (greedy, 64 new tokens)
  cold and warm TTFT at 8K (warm: same prompt again, the prefix cache covers all but one token;
    also an edited tail: the last 64 tokens changed)
  aggregate tokens/s for N = 1 / 2 / 4 branches at 2K context
  the bandwidth ceiling: measured device copy bandwidth / bytes touched per decoded token
    (attention + shared experts + top-k of the routed experts + router + lm_head, NF4 where
    quantized, plus reading the KV cache at that context)
  host vs device time per decoded token (host = decode wall time minus the time blocked reading
    the sampled ids back, from TransformersEngine.last_decode_stats), and the share of the limit
    for a stated target bandwidth (--target-gbs, default 672 GB/s: a 16 GB RTX-class card) as well
    as for the GPU it runs on
  peak memory: after the build and the whole run (read BEFORE the bandwidth probe allocates 2 GiB),
    and the peak of the 8K-context requests inside the engine (reset before them)
The model runs the engine's own path: experts stacked for the fused MoE (Triton on CUDA), q/k/v and
gate/up fused, the static KV cache with CUDA-graph decode steps (--decode-step dynamic to compare).
Goals (issue 13): batch-1 decode >= 400 tok/s on an H100/H200, host <= 1.5 ms/token, 8K peak in the
engine <= 15.0 GiB, warm TTFT at 8K <= 100 ms, aggregate N=4 >= 2.5x N=1.
Prints a table, then one JSON object as the LAST line. Record results in benchmarks/RESULTS.md.

Usage: python benchmarks/engine_gpu.py [--kv-bits 8|16] [--repeats 3]
       python benchmarks/engine_gpu.py --smoke   (CPU, a tiny fp32 model of the same vocabulary: checks
       that the measuring code runs; its numbers mean nothing and no ceiling is computed)
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.engine import GenerationRequest, SamplingParams  # noqa: E402
from app.engine.fused_moe import install_fused_moe  # noqa: E402
from app.engine.fusion import fuse_projections  # noqa: E402
from app.engine.memory_estimate import GIB, kv_cache_bytes, weight_bytes  # noqa: E402
from app.engine.transformers_engine import TransformersEngine  # noqa: E402
from app.engine.xverse import XverseConfig, XverseForCausalLM  # noqa: E402
from memory_fit import A4_2B, build_random_a4_2b  # noqa: E402

GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SAMPLED = SamplingParams(temperature=0.8, top_p=0.9, top_k=50, repetition_penalty=1.0)
NEW_TOKENS = 64
CONTEXTS = {"512": 512, "2k": 2048, "8k": 8192 - NEW_TOKENS}
FIRST_ID = 6  # ids 0-5 are the special tokens


def word_tokenizer(vocab_size: int):
    """A word-level tokenizer covering every id: token i is the word "t{i}" (ids 0-5 the specials), so
    a prompt of k words is exactly k tokens and any generated id decodes."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from app.engine.tiny import SPECIAL_TOKENS

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    vocab.update({f"t{i}": i for i in range(len(SPECIAL_TOKENS), vocab_size)})
    core = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL_TOKENS[0]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token=SPECIAL_TOKENS[2], eos_token=SPECIAL_TOKENS[3],
                                   pad_token=SPECIAL_TOKENS[1])


def prompt_of(tokens: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(f"t{rng.randrange(FIRST_ID, A4_2B['vocab_size'])}" for _ in range(tokens))


def run(engine: TransformersEngine, request: GenerationRequest) -> dict:
    """Timings of one stream: TTFT (to first event), decode seconds after it, tokens per branch."""
    tokens = [0] * request.n
    started = time.perf_counter()
    first = None
    for event in engine.stream(request):
        first = first or time.perf_counter()
        if not hasattr(event, "text"):
            tokens[event.branch] = event.completion_tokens
    ended = time.perf_counter()
    return {"ttft_s": first - started, "decode_s": ended - first, "tokens": tokens}


def decode_rates(engine, repeats: int) -> tuple[dict, dict]:
    """tok/s per context, and host/device ms per token at 512 (from the engine's decode stats)."""
    rates, split = {}, {}
    for name, context in CONTEXTS.items():
        request = GenerationRequest(prompt_of(context, 1), max_new_tokens=NEW_TOKENS, sampling=GREEDY)
        samples, host, wall = [], [], []
        for _ in range(repeats):
            engine.clear_prefix_cache()
            result = run(engine, request)
            samples.append((result["tokens"][0] - 1) / result["decode_s"])  # tokens after the first
            stats = engine.last_decode_stats
            steps = max(1, stats.steps)
            host.append(1000 * (stats.decode_s - stats.read_wait_s) / steps)
            wall.append(1000 * stats.decode_s / steps)
        rates[name] = statistics.median(samples)
        split[name] = {"host_ms_per_token": statistics.median(host), "wall_ms_per_token": statistics.median(wall)}
    return rates, split


def ttft_8k(engine, repeats: int, device: torch.device | None) -> dict:
    prompt = prompt_of(CONTEXTS["8k"], 2)
    request = GenerationRequest(prompt, max_new_tokens=4, sampling=GREEDY)
    edited = GenerationRequest(" ".join(prompt.split()[:-64] + prompt_of(64, 3).split()), max_new_tokens=4,
                               sampling=GREEDY)
    cold, warm, tail = [], [], []
    if device is not None:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeats):
        engine.clear_prefix_cache()
        cold.append(run(engine, request)["ttft_s"])
        warm.append(run(engine, request)["ttft_s"])
        run(engine, request)
        tail.append(run(engine, edited)["ttft_s"])
    peak = torch.cuda.max_memory_allocated(device) / GIB if device is not None else 0.0
    return {"cold_ms": 1000 * statistics.median(cold), "warm_ms": 1000 * statistics.median(warm),
            "edited_tail_ms": 1000 * statistics.median(tail), "peak_8k_gib": peak}


def aggregate_rates(engine, repeats: int) -> dict:
    prompt = prompt_of(CONTEXTS["2k"], 4)
    rates = {}
    for n in (1, 2, 4):
        samples = []
        for seed in range(repeats):
            engine.clear_prefix_cache()
            result = run(engine, GenerationRequest(prompt, n=n, max_new_tokens=NEW_TOKENS, sampling=SAMPLED, seed=seed))
            samples.append((sum(result["tokens"]) - n) / result["decode_s"])
        rates[f"n{n}"] = statistics.median(samples)
    return rates


def copy_bandwidth_gbs(device: torch.device) -> float:
    """Device memory bandwidth measured by copying 1 GiB (read + write counted)."""
    source = torch.empty(GIB // 2, dtype=torch.float16, device=device)
    target = torch.empty_like(source)
    target.copy_(source)
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(10):
        target.copy_(source)
    torch.cuda.synchronize(device)
    return 2 * GIB * 10 / (time.perf_counter() - started) / 1e9


def bytes_per_token(context: int, kv_bits: int) -> float:
    """Bytes read from device memory to decode one token at batch 1 (embedding lives on CPU)."""
    weights = weight_bytes(A4_2B, "nf4")
    routed_share = A4_2B["moe_top_k"] / A4_2B["num_experts"]
    touched = (weights["attention"] + weights["shared_experts"] + weights["routed_experts"] * routed_share
               + weights["router"] + weights["lm_head"] + weights["norms"])
    return touched + kv_cache_bytes(A4_2B, context, kv_bits)


def smoke_model() -> XverseForCausalLM:
    """CPU stand-in with the A4.2B vocabulary (so the same tokenizer and prompts work), tiny elsewhere."""
    shape = {**A4_2B, "hidden_size": 128, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4, "num_experts": 8, "moe_top_k": 2}
    torch.manual_seed(0)
    return XverseForCausalLM(XverseConfig(**shape)).eval()


def gpu_figures(device: torch.device, decode: dict, kv_bits: int, target_gbs: float, weights_gib: float) -> dict:
    peak_run = torch.cuda.max_memory_allocated(device) / GIB  # before the probe below allocates 2 GiB
    bandwidth = copy_bandwidth_gbs(device)
    per_token = bytes_per_token(CONTEXTS["512"], kv_bits)
    ceiling, target_ceiling = bandwidth * 1e9 / per_token, target_gbs * 1e9 / per_token
    return {"gpu": torch.cuda.get_device_name(device), "weights_gib": round(weights_gib, 2),
            "copy_bandwidth_gbs": round(bandwidth, 1), "bytes_per_token_512_gib": round(per_token / GIB, 3),
            "ceiling_tok_s_512": round(ceiling, 1), "decode_pct_of_ceiling_512": round(100 * decode["512"] / ceiling, 1),
            "target_gbs": target_gbs, "target_ceiling_tok_s_512": round(target_ceiling, 1),
            "decode_pct_of_target_ceiling_512": round(100 * decode["512"] / target_ceiling, 1),
            "peak_run_gib": round(peak_run, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kv-bits", type=int, choices=(8, 16), default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="CPU dry run of the measuring code (tiny model)")
    parser.add_argument("--target-gbs", type=float, default=672.0, help="bandwidth of the card to compare with")
    parser.add_argument("--moe-backend", default="auto", choices=("auto", "triton", "torch", "per-expert"))
    parser.add_argument("--decode-step", default="auto", choices=("auto", "static", "dynamic"))
    args = parser.parse_args()
    if not args.smoke and not torch.cuda.is_available():
        sys.exit("engine_gpu.py needs a CUDA GPU (and bitsandbytes); use benchmarks/engine_cpu.py on CPU.")
    device = torch.device("cpu") if args.smoke else torch.device("cuda", 0)
    built = time.perf_counter()
    model = smoke_model() if args.smoke else build_random_a4_2b(device)
    moe = install_fused_moe(model, args.moe_backend)
    fuse_projections(model)
    build_s = time.perf_counter() - built
    weights_gib = 0.0 if args.smoke else torch.cuda.memory_allocated(device) / GIB
    engine = TransformersEngine(model, word_tokenizer(A4_2B["vocab_size"]), model_id="random A4.2B nf4",
                                context_length=8192, quantization="fp32" if args.smoke else "nf4",
                                kv_cache_bits=args.kv_bits, decode_step=args.decode_step)
    run(engine, GenerationRequest(prompt_of(256, 0), max_new_tokens=8, sampling=GREEDY))  # warm-up
    decode, split = decode_rates(engine, args.repeats)
    ttft = ttft_8k(engine, args.repeats, None if args.smoke else device)
    aggregate = aggregate_rates(engine, args.repeats)
    result = {
        "date": datetime.date.today().isoformat(), "smoke": args.smoke, "kv_bits": args.kv_bits,
        "moe_path": moe.describe(), "decode_step": engine.info().decode_step,
        **{f"decode_tok_s_{k}": round(v, 1) for k, v in decode.items()},
        "host_ms_per_token_512": round(split["512"]["host_ms_per_token"], 3),
        "wall_ms_per_token_512": round(split["512"]["wall_ms_per_token"], 3),
        "peak_8k_in_engine_gib": round(ttft["peak_8k_gib"], 2),
        "ttft_cold_8k_ms": round(ttft["cold_ms"], 1), "ttft_warm_8k_ms": round(ttft["warm_ms"], 1),
        "ttft_edited_tail_8k_ms": round(ttft["edited_tail_ms"], 1),
        **{f"aggregate_tok_s_{k}": round(v, 1) for k, v in aggregate.items()},
        "aggregate_n4_vs_n1": round(aggregate["n4"] / aggregate["n1"], 2),
        **({} if args.smoke else gpu_figures(device, decode, args.kv_bits, args.target_gbs, weights_gib)),
    }
    print(f"built the random model in {build_s:.0f} s")
    for name, value in result.items():
        print(f"{name:<28} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
