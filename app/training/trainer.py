"""The project's trainer: one loop for from-scratch pretraining and for LoRA adapters.

It owns the optimisation loop (AdamW, or bitsandbytes' paged 8-bit AdamW on CUDA; linear warmup
then cosine decay; gradient clipping), progress reports (step, loss, ETA), cancellation between
steps, and checkpoints for resume. Batch `b` of a run is `batches(b)`: a pure function of the
step, so a resumed run sees exactly the batches an uninterrupted run would have seen.

Invariant: a checkpoint file is written to a temporary name and renamed into place, so the
checkpoint on disk is always a complete one (or absent).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

CHECKPOINT_NAME = "trainer_state.pt"


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    learning_rate: float = 1e-3
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    checkpoint_every: int = 50
    time_budget_s: float | None = None  # stop (as finished) after this much wall time
    paged_8bit_optimizer: bool = False  # only honoured on CUDA
    loss_chunk: int | None = None  # positions per lm_head/loss chunk (None: whole sequence)


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    loss: float
    elapsed_s: float
    eta_s: float


@dataclass
class TrainResult:
    steps_done: int
    status: str  # "finished" | "cancelled" | "time_budget"
    losses: list[tuple[int, float]] = field(default_factory=list)
    elapsed_s: float = 0.0


def causal_lm_loss(model: nn.Module, window: torch.Tensor, loss_chunk: int | None = None) -> torch.Tensor:
    """Mean next-token cross-entropy of a [B, T+1] window (inputs [:, :-1], targets [:, 1:]).

    With `loss_chunk`, logits exist for only `loss_chunk` positions at a time (each chunk's
    lm_head + loss is recomputed in backward), so [T, V] fp32 logits never live at once.
    """
    inputs, targets = window[:, :-1], window[:, 1:]
    if loss_chunk is None:
        logits = model(input_ids=inputs, use_cache=False).logits  # [B, T, V]
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))
    unwrap = getattr(model, "get_base_model", None)  # a peft model wraps the causal LM
    inner: Any = unwrap() if callable(unwrap) else model
    hidden = inner.model(input_ids=inputs, use_cache=False).last_hidden_state  # [B, T, H]
    head: nn.Linear = inner.lm_head
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.shape[1], loss_chunk):
        part, labels = hidden[:, start : start + loss_chunk], targets[:, start : start + loss_chunk]
        total = total + checkpoint(_chunk_nll, head, part, labels, use_reentrant=False)
    return total / targets.numel()


def _chunk_nll(head: nn.Linear, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    logits = head(hidden.to(head.weight.device)).float()  # [B, chunk, V]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device), reduction="sum")


def learning_rate_at(step: int, config: TrainConfig) -> float:
    """Linear warmup to the peak, then cosine decay to min_lr_ratio * peak at the last step."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio
    return config.learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def trainable_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters; no weight decay on norms and 1-D tensors."""
    params = trainable_parameters(model).values()
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    on_cuda = any(p.is_cuda for p in params)
    if config.paged_8bit_optimizer and on_cuda:
        import bitsandbytes as bnb  # CUDA only: paged 8-bit AdamW keeps optimizer state small

        return bnb.optim.PagedAdamW8bit(groups, lr=config.learning_rate)
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95))


class Trainer:
    """Runs `config.steps` optimisation steps; call `run()` (blocking) from any thread."""

    def __init__(self, model: nn.Module, batches: Callable[[int], torch.Tensor], config: TrainConfig,
                 checkpoint_dir: Path | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 loss_at: Callable[[int], torch.Tensor] | None = None) -> None:
        """`loss_at(step)`, when given, is the loss of that step (e.g. a DPO stage after the LM steps);
        otherwise it is the causal-LM loss of `batches(step)`."""
        self.model = model
        self.batches = batches
        self.loss_at = loss_at
        self.config = config
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.on_progress = on_progress
        self.cancel_event = threading.Event()
        self.optimizer = make_optimizer(model, config)
        self.step = 0
        self.losses: list[tuple[int, float]] = []

    def cancel(self) -> None:
        """Ask the loop to stop before its next step (the current step finishes first)."""
        self.cancel_event.set()

    def run(self) -> TrainResult:
        self._resume()
        self.model.train()
        started = time.monotonic()
        first_step = self.step
        status = "finished"
        while self.step < self.config.steps:
            if self.cancel_event.is_set():
                status = "cancelled"
                break
            if self.config.time_budget_s is not None and time.monotonic() - started > self.config.time_budget_s:
                status = "time_budget"
                break
            loss = self._one_step()
            self._report(loss, started, first_step)
            if self.checkpoint_dir and self.step % self.config.checkpoint_every == 0:
                self.save_checkpoint()
        if self.checkpoint_dir and status != "finished":
            self.save_checkpoint()
        self.model.eval()
        return TrainResult(self.step, status, list(self.losses), time.monotonic() - started)

    def _one_step(self) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.step, self.config)
        if self.loss_at is not None:
            loss = self.loss_at(self.step)
        else:
            loss = causal_lm_loss(self.model, self.batches(self.step), self.config.loss_chunk)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = list(trainable_parameters(self.model).values())
        torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        value = float(loss.detach())
        self.losses.append((self.step, value))
        return value

    def _report(self, loss: float, started: float, first_step: int) -> None:
        if self.on_progress is None:
            return
        elapsed = time.monotonic() - started
        per_step = elapsed / max(1, self.step - first_step)
        eta = per_step * (self.config.steps - self.step)
        self.on_progress(Progress(self.step, self.config.steps, loss, elapsed, eta))

    def save_checkpoint(self) -> Path:
        """Trainable weights + optimizer state + step, written atomically."""
        assert self.checkpoint_dir is not None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "step": self.step,
            "trainable": {k: v.detach().cpu() for k, v in trainable_parameters(self.model).items()},
            "optimizer": self.optimizer.state_dict(),
            "losses": self.losses,
        }
        final = self.checkpoint_dir / CHECKPOINT_NAME
        partial = final.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, final)
        return final

    def _resume(self) -> None:
        """Continue from the checkpoint in checkpoint_dir, when there is one."""
        if self.checkpoint_dir is None or not (self.checkpoint_dir / CHECKPOINT_NAME).is_file():
            return
        state = torch.load(self.checkpoint_dir / CHECKPOINT_NAME, weights_only=False)
        params = trainable_parameters(self.model)
        with torch.no_grad():
            for name, value in state["trainable"].items():
                params[name].copy_(value)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.losses = [tuple(pair) for pair in state["losses"]]
