"""What `--context` above the trained length does on the demo model: dynamic NTK at 12K vs 8K (CPU).

The tiny demo XVERSE-MoE (trained length 8192, random weights) reads 12,288 tokens of a public-
domain novel (shared/corpus) loaded the way the engine loads it for `--context 12288`
(`load_for_engine`: dynamic NTK turned on), and the same model with RoPE left unscaled. Measured on
the last 1,024 tokens (positions 11,264-12,287), against the same tokens read with only the last
8,192 tokens as context (inside the trained range, where NTK changes nothing):
  ppl_8k_window            perplexity with an 8K window (the in-range reference)
  ppl_12k_ntk / ppl_12k_unscaled   perplexity with the whole 12K context
  agreement_ntk / agreement_unscaled   share of positions whose argmax equals the 8K window's
  mean_logit_drift_ntk / _unscaled      mean |logits - 8K-window logits| (how far the model moves)
The model's weights are random, so perplexities are near the vocabulary size; what the figures
show is whether long-context positions stay close to in-range behaviour, not text quality.
Prints a table, then one JSON object as the LAST line.

Usage: nice -n 10 python benchmarks/context_extension.py [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.engine_load import load_for_engine  # noqa: E402
from app.engine.tiny import build_tiny_checkpoint  # noqa: E402

LONG, TRAINED, SCORED = 12288, 8192, 1024
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_ids(tokenizer, tokens: int) -> list[int]:
    text = ""
    for name in ("pride_and_prejudice.txt", "hongloumeng.md"):
        path = CORPUS / name
        if path.is_file():
            text += path.read_text(encoding="utf-8", errors="replace")[:400_000]
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) < tokens:
        raise SystemExit(f"the corpus gives only {len(ids)} tokens; need {tokens}")
    return ids[:tokens]


@torch.no_grad()
def last_logits(model, ids: list[int], scored: int) -> torch.Tensor:
    """Logits [scored, V] at the last `scored` positions (each predicting the token after it)."""
    return model(torch.tensor([ids]), use_cache=False, logits_to_keep=scored).logits[0].float()


def perplexity(logits: torch.Tensor, targets: torch.Tensor) -> float:
    return float(torch.nn.functional.cross_entropy(logits, targets).exp())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = args.checkpoint or Path(tempfile.mkdtemp(prefix="inkstone-ntk-"))
    if not (folder / "config.json").is_file():
        build_tiny_checkpoint(folder)
    extended = load_for_engine(str(folder), quantization="fp32", device_map={"": "cpu"}, context_length=LONG)
    plain = load_for_engine(str(folder), quantization="fp32", device_map={"": "cpu"}, context_length=TRAINED)
    ids = corpus_ids(extended.tokenizer, LONG + 1)
    context, targets = ids[:LONG], torch.tensor(ids[LONG - SCORED + 1 : LONG + 1])
    window = last_logits(plain.model, context[-TRAINED:], SCORED)
    ntk = last_logits(extended.model, context, SCORED)
    unscaled = last_logits(plain.model, context, SCORED)
    result = {
        "ppl_8k_window": round(perplexity(window, targets), 2),
        "ppl_12k_ntk": round(perplexity(ntk, targets), 2),
        "ppl_12k_unscaled": round(perplexity(unscaled, targets), 2),
        "agreement_ntk": round(float((ntk.argmax(-1) == window.argmax(-1)).float().mean()), 4),
        "agreement_unscaled": round(float((unscaled.argmax(-1) == window.argmax(-1)).float().mean()), 4),
        "mean_logit_drift_ntk": round(float((ntk - window).abs().mean()), 5),
        "mean_logit_drift_unscaled": round(float((unscaled - window).abs().mean()), 5),
        "context_note": extended.report.context_note,
    }
    for name, value in result.items():
        print(f"{name:<28} {value}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
