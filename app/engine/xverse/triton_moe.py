"""Triton kernels for the stacked experts (placeholder until the kernel lands)."""

from __future__ import annotations

from typing import Any


def available() -> bool:
    return False


def unavailable_reason() -> str:
    return "kernel not built"


def triton_moe(stacked: Any, flat: Any, weights: Any, expert_ids: Any) -> Any:
    raise RuntimeError("triton MoE kernel unavailable")
