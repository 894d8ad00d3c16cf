"""Sample the demo model: a few continuations per language (seeded), and how often it ends at
the end-of-text marker within the token budget.

    nice -n 10 python benchmarks/demo_samples.py [--n 8 --tokens 160]

JSON last line: the eos rate per language and the share of replacement characters (U+FFFD).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.demo import BUNDLED_DIR  # noqa: E402
from app.engine.transformers_engine import TransformersEngine  # noqa: E402
from app.engine.types import GenerationRequest, SamplingParams, generate  # noqa: E402

PROMPTS = {"zh": "### 第三回 宝玉初会林黛玉\n\n却说黛玉", "en": "Chapter 3\n\nElizabeth"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=160)
    args = parser.parse_args()
    torch.set_num_threads(1)
    engine = TransformersEngine.from_path(BUNDLED_DIR, quantization="fp32", device_map={"": "cpu"}, context_length=512)
    figures = {}
    for lang, prompt in PROMPTS.items():
        request = GenerationRequest(prompt, n=args.n, max_new_tokens=args.tokens, seed=1,
                                    sampling=SamplingParams(temperature=0.8, top_p=0.9, top_k=50, repetition_penalty=1.1))
        results = generate(engine, request)
        for result in results[:2]:
            print(f"--- {lang} (finish: {result.finish_reason})\n{prompt}{result.text}\n", flush=True)
        text = "".join(r.text for r in results)
        figures[lang] = {"eos_rate": sum(r.finish_reason == "stop" for r in results) / len(results),
                         "replacement_chars": text.count("\ufffd"), "chars": len(text)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
