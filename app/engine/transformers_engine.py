"""The local engine: any transformers causal LM (the native XVERSE model first) behind the Engine protocol.

Owns the model, its tokenizer, the one-generation-at-a-time lock and the prefix KV cache kept
between calls. The decode loop itself lives in `app.engine.decoding`.

Concurrency: `stream()` returns a generator that holds the engine lock from its first step until
it finishes or is closed (GeneratorExit releases it); a request queued behind another waits for
the lock and can be cancelled while waiting. A consumer that stops iterating without closing the
generator keeps the lock until the generator is garbage-collected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from app.engine.decoding import BranchDecode, DecodeStats
from app.engine.graph_decode import StaticDecoder
from app.engine.fused_moe import current_path
from app.engine.kv_cache import KV_BITS
from app.engine.prefix_cache import PrefixCache
from app.engine.scoring import DEFAULT_CONTEXT_TOKENS, ContinuationScore, score_continuations
from app.engine.runtime_report import RuntimeReport
from app.engine.types import Done, EngineError, EngineInfo, Event, GenerationRequest

LOCK_POLL_S = 0.02  # how often a queued request looks at its cancel event
DECODE_STEPS = ("auto", "static", "dynamic")


class TransformersEngine:
    def __init__(self, model: Any, tokenizer: Any, *, model_id: str, context_length: int,
                 quantization: str = "", notes: str = "", prefill_chunk_tokens: int = 2048,
                 kv_cache_bits: int = 16, runtime: RuntimeReport | None = None,
                 decode_step: str = "auto") -> None:
        if context_length < 2:
            raise ValueError("context_length must be >= 2")
        if prefill_chunk_tokens < 1:
            raise ValueError("prefill_chunk_tokens must be >= 1")
        if kv_cache_bits not in KV_BITS:
            raise ValueError(f"kv_cache_bits must be 8 or 16, got {kv_cache_bits}")
        self._kv_cache_bits = kv_cache_bits
        self._runtime = runtime or RuntimeReport(moe_path=current_path(model).describe(),
                                                 kv_cache=f"{kv_cache_bits}-bit")
        self.last_decode_stats = DecodeStats()
        self._static = static_decoder(model, decode_step, context_length, kv_cache_bits)
        if self._static is not None:
            self._runtime = replace(self._runtime, decode_step=self._static.describe())
        self._model = model.eval()
        self._tokenizer = tokenizer
        self._model_id, self._context_length = model_id, context_length
        self._quantization, self._notes = quantization, notes
        self._prefill_chunk_tokens = prefill_chunk_tokens
        self._eos_ids = _eos_ids(model, tokenizer)
        self._lock = threading.Lock()
        self._prefix = PrefixCache()

    @classmethod
    def from_path(cls, path: str | Path, *, model_id: str | None = None, context_length: int | None = None,
                  notes: str = "", **load_options: Any) -> TransformersEngine:
        """Load through `app.engine.loading.load_model` (the one path real and demo checkpoints share)."""
        from app.engine.engine_load import load_for_engine

        loaded = load_for_engine(str(path), context_length=context_length, **load_options)
        return cls(loaded.model, loaded.tokenizer, model_id=model_id or str(path),
                   context_length=loaded.context_length, quantization=loaded.quantization, notes=notes,
                   kv_cache_bits=loaded.kv_cache_bits, runtime=loaded.report)

    @property
    def cached_prefix_tokens(self) -> int:
        """Tokens of KV cache kept from the last call (0 when none)."""
        return self._prefix.cached_tokens

    def clear_prefix_cache(self) -> None:
        with self._lock:
            self._prefix.clear()

    def info(self) -> EngineInfo:
        device = _model_device(self._model)
        memory = ""
        if device.type == "cuda":
            memory = f"{torch.cuda.memory_allocated(device) / 2**30:.2f} GiB allocated"
        runtime = self._runtime
        if self._static is not None:
            runtime = replace(runtime, decode_step=self._static.describe())
        return EngineInfo(kind="transformers", model_id=self._model_id, context_length=self._context_length,
                          quantization=self._quantization, device=str(device), memory=memory, notes=self._notes,
                          moe_path=runtime.moe_path, kv_cache=runtime.kv_cache, decode_step=runtime.decode_step,
                          context_note=runtime.context_note, rope_extended=runtime.rope_extended)

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    def stream(self, request: GenerationRequest, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Validate now (EngineError before any generation), then return the event generator."""
        prompt_ids = self._prompt_ids(request.prompt)
        room = self._context_length - len(prompt_ids)
        return self._run(request, prompt_ids, min(request.max_new_tokens, room), cancel or threading.Event())

    def _run(self, request: GenerationRequest, prompt_ids: list[int], max_new_tokens: int,
             cancel: threading.Event) -> Iterator[Event]:
        while not self._lock.acquire(timeout=LOCK_POLL_S):
            if cancel.is_set():
                for branch in range(request.n):
                    yield Done(branch, "cancelled", len(prompt_ids), 0)
                return
        try:
            self.last_decode_stats = DecodeStats()
            decode = BranchDecode(self._model, self._tokenizer, prefix=self._prefix, eos_ids=self._eos_ids,
                                  request=request, prompt_ids=prompt_ids, max_new_tokens=max_new_tokens,
                                  cancel=cancel, prefill_chunk_tokens=self._prefill_chunk_tokens,
                                  kv_cache_bits=self._kv_cache_bits, stats=self.last_decode_stats,
                                  static=self._static)
            yield from decode.events()
        finally:
            self._lock.release()

    def score(self, prompt: str, continuations: Sequence[str],
              context_tokens: int = DEFAULT_CONTEXT_TOKENS) -> list[ContinuationScore]:
        """Log-likelihood of each continuation after `prompt` (see `app.engine.scoring`)."""
        prompt_ids = self._prompt_ids(prompt)
        with self._lock:
            return score_continuations(self._model, prompt_ids, [self._encode(c) for c in continuations],
                                       context_tokens, self._context_length)

    def use_adapter(self, name: str | None, path: str | Path | None = None) -> None:
        """Generate with LoRA adapter `name` (loaded with peft from `path` the first time), or with
        the base model when None. Each adapter keeps its own prefix cache (app.engine.adapters)."""
        from app.engine.adapters import AdapterSlots

        with self._lock:
            slots = getattr(self, "_adapter_slots", None) or AdapterSlots(self._model, self._prefix)
            self._adapter_slots = slots
            self._prefix = slots.activate(name, path)
            if self._static is not None:  # peft changed the modules a captured graph replays
                self._static.drop_graphs()

    @property
    def active_adapter(self) -> str | None:
        slots = getattr(self, "_adapter_slots", None)
        return slots.active if slots is not None else None

    def _encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def _prompt_ids(self, prompt: str) -> list[int]:
        ids = self._encode(prompt)
        if not ids:
            bos = self._tokenizer.bos_token_id
            if bos is None:
                raise EngineError("engine.prompt_empty")
            ids = [bos]
        if len(ids) >= self._context_length:
            raise EngineError("engine.prompt_too_long", tokens=len(ids), context=self._context_length)
        return ids


def static_decoder(model: Any, decode_step: str, context_length: int, kv_cache_bits: int) -> StaticDecoder | None:
    """decode_step "auto": CUDA graphs over a static cache for native XVERSE models on CUDA, else the
    dynamic cache; "static": the static cache stepped eagerly (any device; tests); "dynamic": never."""
    if decode_step not in DECODE_STEPS:
        raise ValueError(f"decode_step must be one of {', '.join(DECODE_STEPS)}, got {decode_step!r}")
    from app.engine.xverse import XverseForCausalLM

    if decode_step == "dynamic" or not isinstance(model, XverseForCausalLM):
        return None
    on_cuda = _model_device(model).type == "cuda"
    if decode_step == "auto" and not on_cuda:
        return None
    return StaticDecoder(model, capacity=context_length, bits=kv_cache_bits, use_graphs=on_cuda)


def _model_device(model: Any) -> torch.device:
    """Where the model computes: its output layer's device (the input embedding may live on CPU)."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if output is not None:
        return output.weight.device
    return next(model.parameters()).device


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(config_eos, int):
        ids.add(config_eos)
    elif config_eos:
        ids.update(int(i) for i in config_eos)
    return frozenset(ids)
