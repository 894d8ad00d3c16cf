"""CPU benchmark of the local engine on a small random XVERSE-MoE (hidden 256, 4 layers, 8 experts).

Measures, within one run, ratios that do not depend on the machine's absolute speed:
  prefix_reuse_ttft_ratio        cold TTFT / warm TTFT, 2048-token prompt, 64 new tokens (goal >= 10)
  prefix_reuse_greedy_identical  greedy output with reuse == without (must be true)
  branch_ttft_ratio_n4           TTFT with N=4 branches / TTFT with N=1 (goal <= 1.2)
  branch_vs_num_return_sequences wall time of 4 samples via HF generate(num_return_sequences=4) / ours (goal >= 2)
  streaming_overhead             tokens/s streamed by the engine / tokens/s of HF generate, greedy (goal >= 0.97)
TTFT = time from calling stream() to its first event. Each timing is the median of --repeats runs.
Prints a table, then the JSON object as the LAST line.

Usage: python benchmarks/engine_cpu.py [--threads 1] [--repeats 5] [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import GenerationRequest, SamplingParams, generate  # noqa: E402
from app.engine.engine_load import load_for_engine  # noqa: E402
from app.engine.tiny import build_tiny_checkpoint, corpus_text  # noqa: E402
from app.engine.transformers_engine import TransformersEngine  # noqa: E402

PROMPT_TOKENS, NEW_TOKENS = 2048, 64
GREEDY = SamplingParams(temperature=0, repetition_penalty=1.0)
SAMPLED = SamplingParams(temperature=0.8, top_p=0.9, top_k=50, repetition_penalty=1.0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is stable on a shared box)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", type=Path, default=None, help="reuse/build the small checkpoint here")
    return parser.parse_args()


def build_prompt(tokenizer, tokens: int, salt: str = "") -> tuple[str, int]:
    """Text of about `tokens` tokens cut from the bundled corpus; returns (text, exact token count)."""
    corpus = corpus_text()
    ids = tokenizer.encode(salt + corpus * (1 + tokens * 4 // max(1, len(corpus))), add_special_tokens=False)
    text = tokenizer.decode(ids[:tokens])
    return text, len(tokenizer.encode(text, add_special_tokens=False))


def ttft_and_run(engine, request) -> tuple[float, float, list[str], list[int]]:
    """(seconds to first event, seconds to end, texts per branch, completion tokens per branch)."""
    texts, counts = [""] * request.n, [0] * request.n
    started = time.perf_counter()
    first = None
    for event in engine.stream(request):
        first = first or time.perf_counter()
        if hasattr(event, "text"):
            texts[event.branch] += event.text
        else:
            counts[event.branch] = event.completion_tokens
    return first - started, time.perf_counter() - started, texts, counts


def median_of(repeats: int, measure) -> float:
    return statistics.median(measure() for _ in range(repeats))


def paired_medians(repeats: int, first, second) -> tuple[float, float]:
    """Alternate the two measurements in ABBA order so load drifting on a shared machine (and any
    effect of what ran just before) hits both alike."""
    a, b = [], []
    for i in range(repeats):
        if i % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return statistics.median(a), statistics.median(b)


def prefix_reuse(engine, prompt: str, repeats: int) -> dict:
    request = GenerationRequest(prompt, max_new_tokens=NEW_TOKENS, sampling=GREEDY)

    def cold() -> float:
        engine.clear_prefix_cache()
        return ttft_and_run(engine, request)[0]

    cold_s = median_of(repeats, cold)
    engine.clear_prefix_cache()
    _, _, cold_text, cold_count = ttft_and_run(engine, request)
    warm_s = median_of(repeats, lambda: ttft_and_run(engine, request)[0])  # cache holds the prompt already
    _, _, warm_text, warm_count = ttft_and_run(engine, request)
    continued = GenerationRequest(prompt + cold_text[0], max_new_tokens=NEW_TOKENS, sampling=GREEDY)
    ttft_and_run(engine, request)
    continue_s = ttft_and_run(engine, continued)[0]
    edited = GenerationRequest(prompt[:-60] + "，夜雨又落了下来。", max_new_tokens=NEW_TOKENS, sampling=GREEDY)
    ttft_and_run(engine, request)
    edited_s = ttft_and_run(engine, edited)[0]
    return {"cold_ttft_s": cold_s, "warm_ttft_s": warm_s, "continue_ttft_s": continue_s, "edited_tail_ttft_s": edited_s,
            "identical": (cold_text, cold_count) == (warm_text, warm_count)}


def branch_ttft(engine, prompt: str, repeats: int) -> dict:
    def ttft(n: int) -> float:
        engine.clear_prefix_cache()
        return ttft_and_run(engine, GenerationRequest(prompt, n=n, max_new_tokens=8, sampling=SAMPLED, seed=1))[0]

    n1, n4 = paired_medians(2 * repeats, lambda: ttft(1), lambda: ttft(4))
    return {"ttft_n1_s": n1, "ttft_n4_s": n4}


def branches_vs_hf(engine, model, tokenizer, prompt: str, repeats: int) -> dict:
    ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
    hf_tokens: list[int] = []
    ours_tokens: list[int] = []

    def hf() -> float:
        started = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, do_sample=True, num_return_sequences=4, max_new_tokens=NEW_TOKENS,
                                 temperature=SAMPLED.temperature, top_p=SAMPLED.top_p, top_k=SAMPLED.top_k,
                                 pad_token_id=tokenizer.pad_token_id)
        hf_tokens.append(int((out[:, ids.shape[1]:] != tokenizer.pad_token_id).sum()))
        return time.perf_counter() - started

    def ours() -> float:
        engine.clear_prefix_cache()
        started = time.perf_counter()
        results = generate(engine, GenerationRequest(prompt, n=4, max_new_tokens=NEW_TOKENS, sampling=SAMPLED, seed=2))
        ours_tokens.append(sum(r.completion_tokens for r in results))
        return time.perf_counter() - started

    hf_s, ours_s = paired_medians(repeats, hf, ours)
    return {"hf_nrs4_s": hf_s, "ours_n4_s": ours_s,
            "hf_tokens": statistics.median(hf_tokens), "ours_tokens": statistics.median(ours_tokens)}


def streaming_overhead(engine, model, tokenizer, repeats: int) -> dict:
    prompt = "夜色渐深，山门外"
    new_tokens = 256
    ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
    request = GenerationRequest(prompt, max_new_tokens=new_tokens, sampling=GREEDY)

    def unstreamed() -> float:
        started = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, do_sample=False, max_new_tokens=new_tokens, pad_token_id=tokenizer.pad_token_id)
        return (out.shape[1] - ids.shape[1]) / (time.perf_counter() - started)

    def streamed() -> float:
        engine.clear_prefix_cache()
        _, total_s, _, counts = ttft_and_run(engine, request)
        return counts[0] / total_s

    unstreamed_tok_s, streamed_tok_s = paired_medians(repeats, unstreamed, streamed)
    return {"unstreamed_tok_s": unstreamed_tok_s, "streamed_tok_s": streamed_tok_s}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    folder = args.checkpoint or Path(tempfile.mkdtemp(prefix="inkstone-bench-"))
    if not (folder / "config.json").is_file():
        build_tiny_checkpoint(folder, hidden_size=256, num_layers=4, num_experts=8, top_k=2)
    # The engine's own load path (stacked experts, fused projections); HF generate runs the same model.
    loaded = load_for_engine(str(folder), quantization="fp32", device_map={"": "cpu"}, kv_cache_bits=16,
                             context_length=4096)
    model, tokenizer = loaded.model, loaded.tokenizer
    engine = TransformersEngine(model, tokenizer, model_id="bench", context_length=4096, runtime=loaded.report)
    print(f"engine: {engine.info().moe_path}; {engine.info().kv_cache}")
    prompt, prompt_tokens = build_prompt(tokenizer, PROMPT_TOKENS)
    generate(engine, GenerationRequest(prompt[:500], max_new_tokens=4))  # warm up kernels and allocator

    reuse = prefix_reuse(engine, prompt, args.repeats)
    ttft = branch_ttft(engine, prompt, args.repeats)
    versus = branches_vs_hf(engine, model, tokenizer, prompt, max(3, args.repeats // 2))
    stream = streaming_overhead(engine, model, tokenizer, args.repeats)
    result = {
        "prefix_reuse_ttft_ratio": round(reuse["cold_ttft_s"] / reuse["warm_ttft_s"], 2),
        "prefix_reuse_greedy_identical": reuse["identical"],
        "branch_ttft_ratio_n4": round(ttft["ttft_n4_s"] / ttft["ttft_n1_s"], 3),
        "branch_vs_num_return_sequences": round(versus["hf_nrs4_s"] / versus["ours_n4_s"], 2),
        "streaming_overhead": round(stream["streamed_tok_s"] / stream["unstreamed_tok_s"], 3),
    }
    rows = [("prompt tokens", prompt_tokens), ("torch threads", args.threads)]
    rows += [(k, round(v, 4) if isinstance(v, float) else v) for part in (reuse, ttft, versus, stream)
             for k, v in part.items()]
    rows += [("continue ratio (cold / prompt+output)", round(reuse["cold_ttft_s"] / reuse["continue_ttft_s"], 2)),
             ("edited-tail ratio (cold / last 60 chars changed)",
              round(reuse["cold_ttft_s"] / reuse["edited_tail_ttft_s"], 2))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
