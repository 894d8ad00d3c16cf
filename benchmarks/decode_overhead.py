"""Per-token overhead of the decode step at XVERSE-Ent-A4.2B's topology with tiny widths (CPU proxy).

The model has A4.2B's exact topology (28 layers, 64 routed experts, top-6, 2 shared experts, 32
heads, no GQA) with tiny widths (hidden 256, expert width 64, the tiny tokenizer's vocabulary), so
arithmetic is negligible and what is measured is what a GPU would pay in launches and host syncs.
It is loaded through the engine's own load path (`load_for_engine`: NF4 via bitsandbytes, input
embedding on CPU) twice:
  per-expert  the path before issue 13: per-expert bitsandbytes experts, int8 KV, no fused projections
  default     what the engine now does: stacked NF4 experts chosen on the device, q/k/v and gate/up
              fused, KV width from the memory estimate (16-bit on this box)
  default_int8  the default with the int8 KV cache forced (the 16 GB card's choice at 8K)
  triton      the default with the Triton MoE kernels (a CUDA machine's default), run in a child process
              under Triton's CPU interpreter (TRITON_INTERPRET=1): op and sync counts only, each kernel
              launch counted once (app.engine.op_census.one_launch); its times mean nothing
Per decoded token (marginal: a 40-token run minus a 16-token run over the same warm prompt, so
prefill and set-up cancel): kernel-like ops and host syncs (app.engine.op_census), CPU ms.
Also the decode step at 4096 vs 512 tokens of context for default and default_int8.
Targets (issue 13): syncs/token <= 1; ops/token <= 900; cpu ms ratio default/per-expert <= 0.35;
step at 4K <= 1.1x step at 512. Prints a table, then one JSON object as the LAST line.

Usage: nice -n 10 python benchmarks/decode_overhead.py [--repeats 3] [--checkpoint DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import GenerationRequest, SamplingParams  # noqa: E402
from app.engine.engine_load import load_for_engine  # noqa: E402
from app.engine.op_census import OpCensus  # noqa: E402
from app.engine.tiny import build_tiny_checkpoint  # noqa: E402
from app.engine.transformers_engine import TransformersEngine  # noqa: E402

SHAPE = {"hidden_size": 256, "num_layers": 28, "num_experts": 64, "top_k": 6, "num_shared_experts": 2,
         "intermediate_size": 64, "num_attention_heads": 32}
GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SHORT, LONG = 16, 40  # new tokens of the two runs whose difference is measured


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/inkstone-a4_2b-topology"))
    parser.add_argument("--triton-counts", action="store_true",
                        help="(child process) print the Triton path's per-token counts as JSON and exit")
    return parser.parse_args()


def checkpoint(folder: Path) -> Path:
    if not (folder / "config.json").is_file():
        build_tiny_checkpoint(folder, shard_size="200MB", **SHAPE)
    return folder


def engine_for(folder: Path, **options) -> TransformersEngine:
    loaded = load_for_engine(str(folder), quantization="nf4", embed_on_cpu=True, context_length=8192, **options)
    return TransformersEngine(loaded.model, loaded.tokenizer, model_id="a4.2b-topology", context_length=8192,
                              quantization="nf4", kv_cache_bits=loaded.kv_cache_bits, runtime=loaded.report)


def exact_prompt(engine: TransformersEngine, tokens: int) -> str:
    text = "夜色渐深，山门外的石阶上落满了松针。The lantern swung over the harbour. " * (tokens // 8 + 2)
    tokenizer = engine._tokenizer
    ids = tokenizer.encode(text, add_special_tokens=False)[:tokens]
    return tokenizer.decode(ids)


def run(engine: TransformersEngine, prompt: str, new_tokens: int) -> tuple[float, int]:
    """(seconds, completion tokens) of one greedy stream over a warm prompt."""
    request = GenerationRequest(prompt, max_new_tokens=new_tokens, sampling=GREEDY)
    started = time.perf_counter()
    tokens = 0
    for event in engine.stream(request):
        if not hasattr(event, "text"):
            tokens = event.completion_tokens
    return time.perf_counter() - started, tokens


def warm(engine: TransformersEngine, prompt: str) -> None:
    """Prefill the prompt once, so each measured call reuses it (prefix cache: 1 token prefilled)."""
    run(engine, prompt, 2)


def counted(engine: TransformersEngine, prompt: str, new_tokens: int) -> tuple[int, int, int]:
    with OpCensus() as census:
        _, tokens = run(engine, prompt, new_tokens)
    return census.kernel_count, census.sync_count, tokens


def per_token_counts(engine: TransformersEngine, prompt: str) -> dict:
    warm(engine, prompt)
    short_ops, short_syncs, short_tokens = counted(engine, prompt, SHORT)
    long_ops, long_syncs, long_tokens = counted(engine, prompt, LONG)
    steps = long_tokens - short_tokens
    with OpCensus() as census:
        run(engine, prompt, LONG)
    top = census.kernels.most_common(8)
    return {"ops_per_token": round((long_ops - short_ops) / steps, 1),
            "syncs_per_token": round((long_syncs - short_syncs) / steps, 3), "tokens": (short_tokens, long_tokens),
            "top_ops_40_tokens": top}


def per_token_ms(engines: dict[str, TransformersEngine], prompt: str, repeats: int) -> dict[str, float]:
    """Marginal ms per decoded token of each engine, measured round-robin (order rotated each
    repeat) so load drifting on a shared box hits all alike."""
    for engine in engines.values():
        warm(engine, prompt)
    samples: dict[str, list[float]] = {name: [] for name in engines}
    names = list(engines)
    for repeat in range(repeats):
        for name in names[repeat % len(names):] + names[: repeat % len(names)]:
            engine = engines[name]
            short_s, short_tokens = run(engine, prompt, SHORT)
            long_s, long_tokens = run(engine, prompt, LONG)
            samples[name].append(1000 * (long_s - short_s) / (long_tokens - short_tokens))
    return {name: statistics.median(values) for name, values in samples.items()}


def triton_counts(folder: Path) -> dict:
    """The Triton path's counts, measured in a child process that runs Triton's CPU interpreter."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    command = [sys.executable, __file__, "--triton-counts", "--checkpoint", str(folder)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_triton_counts(folder: Path) -> None:
    engine = engine_for(folder, moe_backend="triton")
    counts = per_token_counts(engine, exact_prompt(engine, 512))
    print(json.dumps({**counts, "moe": engine.info().moe_path}))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    folder = checkpoint(args.checkpoint)
    if args.triton_counts:
        return print_triton_counts(folder)
    triton = triton_counts(folder)
    built = time.perf_counter()
    engines = {
        "per_expert": engine_for(folder, kv_cache_bits=8, moe_backend="per-expert", fuse=False),
        "default": engine_for(folder),
        "default_int8": engine_for(folder, kv_cache_bits=8),
    }
    load_s = time.perf_counter() - built
    print(f"loaded in {load_s:.0f} s", file=sys.stderr, flush=True)
    short_prompt = exact_prompt(engines["default"], 512)
    long_prompt = exact_prompt(engines["default"], 4096)
    counts = {name: per_token_counts(engine, short_prompt) for name, engine in engines.items()}
    print(f"counted at {time.perf_counter() - built:.0f} s", file=sys.stderr, flush=True)
    ms_512 = per_token_ms(engines, short_prompt, args.repeats)
    print(f"timed 512 at {time.perf_counter() - built:.0f} s", file=sys.stderr, flush=True)
    long_engines = {name: engines[name] for name in ("default", "default_int8")}
    ms_4k = per_token_ms(long_engines, long_prompt, args.repeats)
    result = {
        "ops_per_token_default": counts["default"]["ops_per_token"],
        "ops_per_token_per_expert": counts["per_expert"]["ops_per_token"],
        "ops_per_token_default_int8": counts["default_int8"]["ops_per_token"],
        "syncs_per_token_default": counts["default"]["syncs_per_token"],
        "syncs_per_token_per_expert": counts["per_expert"]["syncs_per_token"],
        "syncs_per_token_default_int8": counts["default_int8"]["syncs_per_token"],
        "ops_per_token_triton_path": triton.get("ops_per_token"),
        "syncs_per_token_triton_path": triton.get("syncs_per_token"),
        "cpu_ms_per_token_default": round(ms_512["default"], 3),
        "cpu_ms_per_token_per_expert": round(ms_512["per_expert"], 3),
        "cpu_ms_ratio_default_vs_per_expert": round(ms_512["default"] / ms_512["per_expert"], 3),
        "step_ratio_4k_vs_512_default": round(ms_4k["default"] / ms_512["default"], 3),
        "step_ratio_4k_vs_512_default_int8": round(ms_4k["default_int8"] / ms_512["default_int8"], 3),
        "kv_default": engines["default"].info().kv_cache,
        "moe_default": engines["default"].info().moe_path,
    }
    print(f"load of three engines: {load_s:.0f} s; torch threads {args.threads}")
    for name, part in counts.items():
        print(f"{name:<13} tokens {part['tokens']}  top ops (40-token run): {part['top_ops_40_tokens']}")
    print(f"triton path (interpreted): {triton}")
    print(f"ms/token at 4K: {ms_4k}")
    for name, value in result.items():
        print(f"{name:<40} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
