"""The op census: ATen ops counted one by one; a fused launch counted once, with nothing inside it."""

from __future__ import annotations

import torch

from app.engine.op_census import OpCensus, one_launch


def test_a_fused_launch_counts_once_and_hides_what_its_launcher_dispatches() -> None:
    x = torch.randn(4, 8)
    with OpCensus() as outer:
        y = x * 2  # one mul
        with OpCensus() as inner:
            with one_launch("fused_kernel"):
                z = (y + 1).sum()  # two ops and a host read, all inside the launch
                z.tolist()
            y.tolist()  # a sync outside the launch
    assert inner.kernels == {"fused_kernel": 1} and inner.syncs == {"tolist": 1}
    assert outer.kernels == {"mul": 1, "fused_kernel": 1} and outer.sync_count == 1
    with OpCensus() as after:  # the launch left no census suspended
        x + 1
    assert after.kernels == {"add": 1}
