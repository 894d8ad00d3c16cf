"""Print the QLoRA peak-memory estimate for XVERSE-Ent-A4.2B at seq 512 / 1024 / 2048.

    python benchmarks/qlora_memory.py

Arithmetic only (app/training/memory.py states what is counted). JSON last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.memory_estimate import GIB  # noqa: E402
from app.training.memory import QloraPlan, qlora_peak_bytes  # noqa: E402

A42B = {  # XVERSE-Ent-A4.2B config.json values (DESIGN.md §3)
    "vocab_size": 100534, "hidden_size": 2560, "intermediate_size": 1728, "num_hidden_layers": 28,
    "num_attention_heads": 32, "num_key_value_heads": 32, "num_experts": 64, "moe_top_k": 6,
    "num_shared_experts": 2,
}
CARD_GIB = 16.0


def main() -> None:
    rows = {}
    for seq in (512, 1024, 2048):
        parts = qlora_peak_bytes(A42B, QloraPlan(seq_len=seq))
        rows[seq] = {name: round(size / GIB, 2) for name, size in parts.items()}
        fits = "fits" if parts["total"] <= CARD_GIB * GIB else "does NOT fit"
        print(f"seq {seq:5d}: total {rows[seq]['total']:.2f} GiB ({fits} {CARD_GIB:.0f} GiB) "
              + ", ".join(f"{k} {v:.2f}" for k, v in rows[seq].items() if k != "total"))
    print(json.dumps({"model": "XVERSE-Ent-A4.2B", "plan": "NF4+double quant, LoRA r16 attention+shared experts, "
                      "grad checkpointing, paged 8-bit AdamW, embedding on CPU, loss chunk 256",
                      "card_gib": CARD_GIB, "peak_gib": {s: r["total"] for s, r in rows.items()},
                      "fits_at_1024": rows[1024]["total"] <= CARD_GIB}))


if __name__ == "__main__":
    main()
