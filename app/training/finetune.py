"""A "my style" LoRA fine-tune as a background job: progress, cancel, resume, atomic adapter.

A job trains a LoRA adapter on the writer's texts (continued pretraining: documents joined by
eos, random windows), then — when asked — DPO on the writer's choices (steps `steps` … `total_steps`
of the same run and schedule; app/training/preference.py), keeps a resumable checkpoint in <work>/<project>/<name>/ every few steps,
and on success evaluates held-out perplexity with and without the adapter, then writes the
adapter through AdapterStore (one atomic rename) and removes the checkpoint. A cancelled or
failed job leaves no adapter; starting the same project/name again resumes from the checkpoint.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from app.training.adapters import AdapterInfo, AdapterStore, check_name
from app.training.corpus import pack, sample_windows
from app.training.lora import LoraSpec, attach_lora, enable_gradient_checkpointing, load_base_for_training
from app.training.perplexity import perplexity
from app.training.preference import EncodedPair, dpo_loss, encode_pairs, pairs_for_step, preference_margins
from app.training.trainer import Progress, TrainConfig, Trainer, causal_lm_loss


@dataclass(frozen=True)
class FineTuneRequest:
    project: str
    name: str
    train_texts: tuple[str, ...]
    heldout_texts: tuple[str, ...]
    steps: int = 40
    seq_len: int = 128
    batch_size: int = 4
    learning_rate: float = 2e-3
    lora: LoraSpec = field(default_factory=LoraSpec)
    quantization: str = "fp32"  # "nf4" = QLoRA on CUDA; "auto" = nf4 when CUDA is there, else fp32
    checkpoint_every: int = 10
    gradient_checkpointing: bool = True
    seed: int = 0
    # After the LM steps, `dpo_steps` DPO steps on (prompt, chosen, rejected) pairs (app.training.preference)
    preference_pairs: tuple[tuple[str, str, str], ...] = ()
    dpo_steps: int = 0
    dpo_beta: float = 0.1
    dpo_batch_size: int = 2

    @property
    def total_steps(self) -> int:
        """Planned while queued; the job corrects it once the pairs are encoded (an empty pair drops)."""
        return self.steps_with(has_pairs=bool(self.preference_pairs))

    def steps_with(self, has_pairs: bool) -> int:
        """LM steps, then DPO steps only when there are pairs to learn from."""
        return self.steps + (self.dpo_steps if has_pairs else 0)


@dataclass(frozen=True)
class JobState:
    status: str  # "queued" | "running" | "finished" | "cancelled" | "failed"
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    eta_s: float | None = None
    error_code: str | None = None
    error: str | None = None
    adapter: AdapterInfo | None = None
    resumed_from: int = 0


MIN_TOKENS = 32
LOSS_CHUNK = 256  # lm_head + loss over 256 positions at a time (app/training/memory.py assumes it)


class FineTuneJob:
    def __init__(self, base_model: Path, base_model_id: str, adapters: AdapterStore, work_root: Path,
                 request: FineTuneRequest, on_progress: Callable[[JobState], None] | None = None) -> None:
        check_name(request.project), check_name(request.name)
        self._listener = on_progress
        self.base_model, self.base_model_id = Path(base_model), base_model_id
        self.adapters, self.request = adapters, request
        self.work_dir = Path(work_root) / request.project / request.name
        self._state = JobState("queued", total_steps=request.total_steps)
        self._state_lock = threading.Lock()
        self._trainer: Trainer | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"finetune-{request.name}", daemon=True)

    def start(self) -> FineTuneJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()
        if self._trainer is not None:
            self._trainer.cancel()

    def wait(self, timeout: float | None = None) -> JobState:
        self._thread.join(timeout)
        return self.state

    @property
    def state(self) -> JobState:
        with self._state_lock:
            return self._state

    def _set(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)

    def _run(self) -> None:
        try:
            self._train_and_save()
        except Exception as error:  # noqa: BLE001 - a failed job is a state, not a crashed thread
            self._set(status="failed", error_code="finetune_failed", error=f"{type(error).__name__}: {error}")

    def _train_and_save(self) -> None:
        request = self.request
        model, tokenizer = load_base_for_training(self.base_model, request.quantization)
        encode = lambda text: tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
        eos = int(tokenizer.eos_token_id)
        train_ids, heldout_ids = pack(request.train_texts, encode, eos), pack(request.heldout_texts, encode, eos)
        if train_ids.numel() < max(MIN_TOKENS, request.seq_len + 2):
            self._set(status="failed", error_code="finetune_too_little_text", error=str(train_ids.numel()))
            return
        window = min(request.seq_len, int(model.config.max_position_embeddings))
        base_ppl = perplexity(model, heldout_ids, window) if heldout_ids.numel() >= 2 else None
        peft_model = attach_lora(model, request.lora)
        if request.gradient_checkpointing:
            enable_gradient_checkpointing(peft_model)
        pairs = encode_pairs(request.preference_pairs, encode, eos, request.seq_len) if request.dpo_steps else []
        trainer = self._make_trainer(peft_model, train_ids, pairs)
        self._trainer = trainer
        if self._cancel.is_set():
            trainer.cancel()
        self._set(status="running")
        result = trainer.run()
        if result.status != "finished":
            self._set(status="cancelled", step=result.steps_done)
            return
        adapter_ppl = perplexity(peft_model, heldout_ids, window) if base_ppl else None
        metrics = {"train_loss_last": result.losses[-1][1] if result.losses else float("nan")}
        if base_ppl and adapter_ppl:
            metrics |= {"heldout_ppl_base": base_ppl.perplexity, "heldout_ppl_adapter": adapter_ppl.perplexity,
                        "heldout_tokens": float(adapter_ppl.tokens)}
        if pairs:  # how far the adapter moved towards the writer's choices (0 = not at all)
            margins = preference_margins(peft_model, pairs)
            metrics |= {"dpo_pairs": float(len(pairs)), "dpo_margin_mean": sum(margins) / len(margins),
                        "dpo_accuracy": sum(m > 0 for m in margins) / len(margins)}
        meta = {"base_model": self.base_model_id, "steps": result.steps_done, "metrics": metrics,
                "lora": request.lora.to_dict(), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "ppl_method": adapter_ppl.method if adapter_ppl else ""}
        info = self.adapters.write(request.project, request.name, peft_model.save_pretrained, meta)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self._set(status="finished", step=result.steps_done, adapter=info)

    def _make_trainer(self, model: Any, train_ids: torch.Tensor, pairs: list[EncodedPair]) -> Trainer:
        request = self.request
        seq = min(request.seq_len, train_ids.numel() - 2)
        total = request.steps_with(has_pairs=bool(pairs))
        self._set(total_steps=total)
        config = TrainConfig(steps=total, learning_rate=request.learning_rate,
                             warmup_steps=max(1, total // 10), checkpoint_every=request.checkpoint_every,
                             paged_8bit_optimizer=request.quantization in ("nf4", "auto"),
                             loss_chunk=LOSS_CHUNK)

        def batches(step: int) -> torch.Tensor:
            return sample_windows(train_ids, request.batch_size, seq, request.seed * 1_000_003 + step).to(
                model.device)

        def loss_at(step: int) -> torch.Tensor:
            if step < request.steps:
                return causal_lm_loss(model, batches(step), config.loss_chunk)
            return dpo_loss(model, pairs_for_step(pairs, step - request.steps, request.dpo_batch_size),
                            request.dpo_beta)

        trainer = Trainer(model, batches, config, self.work_dir, self._on_progress, loss_at=loss_at)
        self._set(resumed_from=_checkpoint_step(self.work_dir))
        return trainer

    def _on_progress(self, progress: Progress) -> None:
        self._set(step=progress.step, total_steps=progress.total_steps, loss=progress.loss, eta_s=progress.eta_s)
        if self._listener is not None:
            self._listener(self.state)


def _checkpoint_step(work_dir: Path) -> int:
    from app.training.trainer import CHECKPOINT_NAME

    path = work_dir / CHECKPOINT_NAME
    if not path.is_file():
        return 0
    return int(torch.load(path, weights_only=False)["step"])
