"""What the local engine chose at load time, in words for the start-up log and the Settings tab."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeReport:
    moe_path: str = ""  # MoePath.describe(): "fused-torch (nf4 stacked experts)", "per-expert (...)"
    kv_cache: str = ""  # "16-bit", or "int8 (...why...)"
    decode_step: str = "eager"  # "cuda-graph (batch 1-4)" or "eager (...why...)"
    context_note: str = ""  # dynamic NTK note when the context exceeds the trained length
    rope_extended: bool = False

    def lines(self) -> list[str]:
        """One line per choice, for the start-up log."""
        lines = [f"MoE path: {self.moe_path}", f"KV cache: {self.kv_cache}", f"decode step: {self.decode_step}"]
        if self.context_note:
            lines.append(f"context: {self.context_note}")
        return [line for line in lines if not line.endswith(": ")]
