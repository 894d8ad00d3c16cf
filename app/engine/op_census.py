"""Counting what a stretch of torch code launches: kernel-like ops and host syncs (CPU proxy).

On a GPU every ATen op that does work is at least one kernel launch, and a host read (`.item()`,
`.tolist()`, `bool(t)`, an op whose output size depends on the data) stalls the CPU until the
device catches up. `OpCensus` counts both while it is active (a TorchDispatchMode plus a patched
`Tensor.tolist`, which does not pass through the dispatcher), so the counts can be measured on
CPU and asserted as invariants in tests and benchmarks.

A fused kernel of our own (Triton) is one launch however many ATen ops its launcher dispatches (on
CPU the interpreter copies tensors): its wrapper runs inside `one_launch(name)`, which counts it once
in every active census and counts nothing dispatched inside.

Not counted as kernels: views and other metadata-only ops (view, transpose, slice, expand, ...)
and bare allocations (empty*). Counted as syncs: `_local_scalar_dense` (item/int/bool),
`tolist`, and the data-dependent-size ops nonzero / masked_select / unique / bincount, plus
indexing with a boolean mask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

NOT_KERNELS = {"_unsafe_view", "detach", "lift_fresh", "empty", "empty_strided", "empty_like", "alias",
               "view", "_reshape_alias", "as_strided", "set_", "_to_copy_noop"}
SYNC_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "bincount", "unique", "_unique", "_unique2",
            "unique_consecutive", "unique_dim", "nonzero_static_noop"}


def _base_name(func: Any) -> str:
    """'aten.view.default' -> 'view'."""
    return str(func).split(".")[1] if str(func).count(".") >= 1 else str(func)


def _is_view(func: Any) -> bool:
    is_view = getattr(func, "is_view", None)
    if is_view is not None:
        return bool(is_view)
    schema = getattr(func, "_schema", None)
    returns = getattr(schema, "returns", ()) if schema is not None else ()
    return any(getattr(r, "alias_info", None) is not None and not r.alias_info.is_write for r in returns)


def _bool_index(func: Any, args: tuple) -> bool:
    if _base_name(func) not in ("index", "index_put", "index_put_"):
        return False
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or ())


_ACTIVE: list[OpCensus] = []  # the censuses entered and not yet exited, innermost last


@contextmanager
def one_launch(name: str) -> Iterator[None]:
    """Count the fused kernel launched inside as one kernel `name` (see the module docstring)."""
    for census in _ACTIVE:
        census.kernels[name] += 1
        census.suspended += 1
    try:
        yield
    finally:
        for census in _ACTIVE:
            census.suspended -= 1


class OpCensus(TorchDispatchMode):
    """with OpCensus() as census: ... -> census.kernels, census.syncs (Counters by op name)."""

    def __init__(self) -> None:
        super().__init__()
        self.kernels: Counter[str] = Counter()
        self.syncs: Counter[str] = Counter()
        self.suspended = 0  # > 0 inside one_launch
        self._tolist: Any = None

    @property
    def kernel_count(self) -> int:
        return sum(self.kernels.values())

    @property
    def sync_count(self) -> int:
        return sum(self.syncs.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.suspended:
            return func(*args, **(kwargs or {}))
        name = _base_name(func)
        if name in SYNC_OPS or _bool_index(func, args):
            self.syncs[name] += 1
        if name not in NOT_KERNELS and name not in ("_local_scalar_dense",) and not _is_view(func):
            self.kernels[name] += 1
        return func(*args, **(kwargs or {}))

    def __enter__(self) -> OpCensus:
        census = self
        original = torch.Tensor.tolist
        self._tolist = original

        def counted_tolist(tensor: torch.Tensor) -> Any:
            if not census.suspended:
                census.syncs["tolist"] += 1
            return original(tensor)

        torch.Tensor.tolist = counted_tolist  # type: ignore[method-assign,assignment]
        super().__enter__()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)
        super().__exit__(*exc)
        torch.Tensor.tolist = self._tolist  # type: ignore[method-assign]

    def snapshot(self) -> tuple[int, int]:
        """(kernels, syncs) counted so far."""
        return self.kernel_count, self.sync_count
