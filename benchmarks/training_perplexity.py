"""Held-out perplexity of the demo model vs random weights, and base vs a LoRA "my style" adapter.

    nice -n 10 python benchmarks/training_perplexity.py [--lora-steps 40]

Text: the held-out documents shipped with the demo model (app/engine/demo_model/eval/, the last
chapters of 红楼梦 and Pride and Prejudice, never trained on). Method: app/training/perplexity.py
(sliding window at the model's trained context, each token scored once). The LoRA run trains on
the first half of each held-out text and evaluates on the second half. JSON last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.demo import BUNDLED_DIR, HELDOUT_DIR  # noqa: E402
from app.training.adapters import AdapterStore  # noqa: E402
from app.training.finetune import FineTuneJob, FineTuneRequest  # noqa: E402
from app.training.lora import load_base_for_training  # noqa: E402
from app.training.perplexity import perplexity  # noqa: E402

WINDOW = 512  # the demo model's training length


def heldout_texts() -> dict[str, str]:
    return {lang: (BUNDLED_DIR / HELDOUT_DIR / f"heldout_{lang}.txt").read_text(encoding="utf-8") for lang in ("zh", "en")}


def demo_vs_random(texts: dict[str, str]) -> dict[str, dict[str, float]]:
    from transformers import AutoModelForCausalLM

    model, tokenizer = load_base_for_training(BUNDLED_DIR)
    torch.manual_seed(0)
    random_model = AutoModelForCausalLM.from_config(model.config).eval()
    rows = {}
    for lang, text in texts.items():
        ids = torch.tensor(tokenizer.encode(text, add_special_tokens=False))
        trained, rand = perplexity(model, ids, WINDOW), perplexity(random_model, ids, WINDOW)
        rows[lang] = {"tokens": trained.tokens, "demo": round(trained.perplexity, 2), "random": round(rand.perplexity, 1)}
        print(f"{lang}: demo {trained.perplexity:.2f} vs random weights {rand.perplexity:.1f} "
              f"({trained.tokens} tokens; {trained.method})", flush=True)
    return rows


def lora_before_after(texts: dict[str, str], steps: int, lr: float) -> dict[str, float]:
    train, heldout = [], []
    for text in texts.values():
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        half = len(paragraphs) // 2
        train += paragraphs[:half]
        heldout += paragraphs[half:]
    with tempfile.TemporaryDirectory() as folder:
        request = FineTuneRequest("bench", "style", tuple(train), tuple(heldout), steps=steps, seq_len=128,
                                  batch_size=4, learning_rate=lr, checkpoint_every=max(10, steps))
        started = time.monotonic()
        job = FineTuneJob(BUNDLED_DIR, "demo", AdapterStore(Path(folder) / "a"), Path(folder) / "w", request)
        state = job.start().wait()
        if state.adapter is None:
            raise SystemExit(f"fine-tune did not finish: {state}")
        metrics = state.adapter.metrics
        print(f"LoRA {steps} steps ({time.monotonic() - started:.0f}s): held-out perplexity base "
              f"{metrics['heldout_ppl_base']:.2f} -> adapter {metrics['heldout_ppl_adapter']:.2f}", flush=True)
        return {"steps": steps, "lr": lr, "seconds": round(time.monotonic() - started), **{k: round(v, 2) for k, v in metrics.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lora-steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = heldout_texts()
    rows = demo_vs_random(texts)
    lora = lora_before_after(texts, args.lora_steps, args.lr)
    print(json.dumps({"method": f"sliding window {WINDOW}, stride {WINDOW // 2}", "demo_vs_random": rows,
                      "lora": lora}, ensure_ascii=False))


if __name__ == "__main__":
    main()
