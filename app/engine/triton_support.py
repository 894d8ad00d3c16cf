"""Whether Triton kernels can run here: the optional import, and the CPU interpreter switch.

Owns nothing else; the kernels live in app.engine.triton_attention and app.engine.xverse.triton_moe.
"""

from __future__ import annotations

try:  # triton is optional: absent on CPU-only installs
    import triton
    import triton.language as tl

    _IMPORT_ERROR = ""
except ImportError as error:  # pragma: no cover - depends on the install
    triton = None
    tl = None
    _IMPORT_ERROR = str(error)


def available() -> bool:
    return triton is not None


def interpreted() -> bool:
    """Triton runs its CPU interpreter (TRITON_INTERPRET=1 when triton was imported): its kernels
    then take CPU tensors (slowly), for tests and the launch-count benchmark."""
    knobs = getattr(triton, "knobs", None)
    return bool(getattr(getattr(knobs, "runtime", None), "interpret", False))


def unavailable_reason() -> str:
    return _IMPORT_ERROR or "available"
