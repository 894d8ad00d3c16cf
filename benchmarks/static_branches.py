"""Branches on the static (graph-captured) cache: the prompt read once vs one copy per row (CPU, eager).

Before, N branches on the static path copied the prompt's K/V into N rows of a StaticKVCache; now a
SharedPromptStaticCache reads the prompt once from the batch-1 buffers and keeps only each row's own
tokens (app/engine/static_branches.py). This measures one decode step of N = 4 rows both ways, at a
512- and a 4096-token prompt, on a small XVERSE-MoE with real head widths (8 heads x 128, 4 layers;
tiny experts, so attention, the part that changed, is a visible share of the step), fp32, eagerly
(`set_window` to the exact length, as a step without graphs does). Also prints the K/V bytes each way
holds for the request (the prompt P once + 4 x 64 own tokens, vs 4 x (P + 64)).
Ratios are medians of interleaved repeats in one run; absolute times mean nothing on a shared CPU.
Prints a table, then one JSON object as the LAST line.

Usage: nice -n 10 python benchmarks/static_branches.py [--repeats 7] [--threads 1]
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

from app.engine.fusion import fuse_projections  # noqa: E402
from app.engine.kv_cache import new_cache  # noqa: E402
from app.engine.static_branches import SharedPromptStaticCache  # noqa: E402
from app.engine.static_cache import StaticKVCache, new_static_buffers  # noqa: E402
from app.engine.tiny import build_tiny_checkpoint  # noqa: E402

ROWS, OWN = 4, 64  # branches, own tokens each has room for in the measured request
SHAPE = {"hidden_size": 1024, "num_layers": 4, "num_experts": 8, "top_k": 2, "num_shared_experts": 1,
         "intermediate_size": 32, "num_attention_heads": 8}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


def load_model():
    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from transformers import AutoModelForCausalLM

    folder = build_tiny_checkpoint(Path(tempfile.mkdtemp(prefix="static-branches-")), shard_size="200MB", **SHAPE)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    fuse_projections(model)
    return model


def caches(model, prompt_tokens: int) -> tuple[StaticKVCache, SharedPromptStaticCache]:
    """(one copy of the prompt per row, the prompt once + own rows), both holding the same prompt."""
    config, cpu = model.config, torch.device("cpu")
    dynamic = new_cache(config, 16)
    with torch.no_grad():
        model(torch.randint(10, 200, (1, prompt_tokens)), past_key_values=dynamic)
    shape = (config.num_hidden_layers, config.num_key_value_heads, config.head_dim)
    copies = StaticKVCache(shape[0], ROWS, shape[1], shape[2], prompt_tokens + OWN, dtype=torch.float32, device=cpu)
    copies.load(dynamic, ROWS)
    prompt = StaticKVCache(shape[0], 1, shape[1], shape[2], prompt_tokens + OWN, dtype=torch.float32, device=cpu)
    prompt.load(dynamic, 1)
    storage = new_static_buffers(shape[0], (ROWS, shape[1], OWN, shape[2]), dtype=torch.float32, device=cpu, bits=16)
    shared = SharedPromptStaticCache(prompt, ROWS, storage)
    shared.start()
    return copies, shared


def step_ms(model, cache: StaticKVCache) -> float:
    """One 4-row decode step at the cache's current length (the length is put back after it)."""
    ids = torch.randint(10, 200, (ROWS, 1))
    cache.choose_windows(graphed=False)
    saved = cache.length.clone()
    started = time.perf_counter()
    with torch.no_grad():
        model(ids, cache=cache)
    elapsed = time.perf_counter() - started
    cache.length.copy_(saved)
    return elapsed * 1e3


def held_bytes(cache: StaticKVCache, tokens_per_row: int, rows: int) -> int:
    per_token = sum(buffer[0, :, 0].numel() * buffer.element_size() for layer in cache.buffers for buffer in layer)
    return per_token * tokens_per_row * rows


def measure(model, prompt_tokens: int, repeats: int) -> dict:
    copies, shared = caches(model, prompt_tokens)
    step_ms(model, copies), step_ms(model, shared)  # warm-up
    copied, once = [], []
    for _ in range(repeats):  # interleaved, so load on the box hits both alike
        copied.append(step_ms(model, copies))
        once.append(step_ms(model, shared))
    kv_copies = held_bytes(copies, prompt_tokens + OWN, ROWS)
    kv_shared = held_bytes(copies, prompt_tokens, 1) + held_bytes(copies, OWN, ROWS)
    return {"copies_ms": statistics.median(copied), "shared_ms": statistics.median(once),
            "step_ratio": statistics.median(once) / statistics.median(copied),
            "kv_ratio": kv_shared / kv_copies}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model()
    results = {tokens: measure(model, tokens, args.repeats) for tokens in (512, 4096)}
    print(f"{'prompt':>7} {'copies ms':>10} {'shared ms':>10} {'step shared/copies':>19} {'K/V shared/copies':>18}")
    for tokens, row in results.items():
        print(f"{tokens:>7} {row['copies_ms']:>10.1f} {row['shared_ms']:>10.1f} {row['step_ratio']:>19.3f} "
              f"{row['kv_ratio']:>18.3f}")
    summary = {f"{key}_{tokens}": round(row[key], 3) for tokens, row in results.items()
               for key in ("step_ratio", "kv_ratio")}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
