"""The Engine contract: requests, sampling, streamed events, and the blocking helper built on them.

The engine knows tokens and text only, never chapters. Every implementation (local transformers,
OpenAI-compatible server, the "no model loaded" stand-in) satisfies `Engine`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from messages import CodedError

FinishReason = Literal["stop", "length", "cancelled", "error"]
MAX_BRANCHES = 8


class EngineError(CodedError, RuntimeError):
    """A generation could not run; raised with a message code (`exc.message`, rendered in the writer's
    language) or, from code outside ours, a plain sentence."""


class EngineUnavailable(EngineError):
    """No model is loaded (or the server is unreachable); the message names the ways out."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_p: float = 0.9
    top_k: int = 50
    min_p: float = 0.0
    repetition_penalty: float = 1.05

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 means greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0 (0 disables it)")
        if not 0 <= self.min_p < 1:
            raise ValueError("min_p must be in [0, 1)")
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    n: int = 1  # number of branches, all sharing one prefill
    max_new_tokens: int = 256
    sampling: SamplingParams = field(default_factory=SamplingParams)
    stop: tuple[str, ...] = ()
    seed: int = 0
    # end-of-text cannot be drawn before this many tokens (a continuation is never empty); the local
    # engine honours it, an OpenAI-compatible server is not asked (not every one takes `min_tokens`)
    min_new_tokens: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_BRANCHES:
            raise ValueError(f"n must be between 1 and {MAX_BRANCHES}, got {self.n}")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be between 0 and max_new_tokens")
        if any(not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")


@dataclass(frozen=True)
class Chunk:
    """New text for one branch (already valid UTF-8: never half a character)."""

    branch: int
    text: str


@dataclass(frozen=True)
class Done:
    """One branch finished; exactly one Done per branch ends every stream."""

    branch: int
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    error: str | None = None


Event = Chunk | Done


@dataclass(frozen=True)
class EngineInfo:
    kind: str  # "transformers" | "openai" | "none"
    model_id: str
    context_length: int
    quantization: str = ""
    device: str = ""
    memory: str = ""  # human-readable device memory in use
    notes: str = ""  # e.g. "demo model: text is random"
    token_counts_exact: bool = True
    # Local-engine runtime choices, for the start-up log and the Settings tab ("" where not applicable).
    moe_path: str = ""  # e.g. "fused-torch (nf4 stacked experts)" or "per-expert (requested)"
    kv_cache: str = ""  # e.g. "int8 (bf16 would not fit: ...)"
    decode_step: str = ""  # e.g. "cuda-graph (batch 1-4)" or "eager"
    context_note: str = ""  # e.g. "dynamic NTK x1.5: context 12288 > trained 8192"
    rope_extended: bool = False  # True when dynamic NTK stretches RoPE past the trained length


@runtime_checkable
class Engine(Protocol):
    def info(self) -> EngineInfo: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, request: GenerationRequest, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Yield Chunk/Done events; setting `cancel` ends all branches with finish_reason "cancelled"."""
        ...


@dataclass(frozen=True)
class BranchResult:
    branch: int
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    error: str | None = None


def generate(engine: Engine, request: GenerationRequest, cancel: threading.Event | None = None) -> list[BranchResult]:
    """Blocking helper built on `stream`: collect every branch's text and finish."""
    texts: dict[int, list[str]] = {i: [] for i in range(request.n)}
    done: dict[int, Done] = {}
    for event in engine.stream(request, cancel):
        if isinstance(event, Chunk):
            texts[event.branch].append(event.text)
        else:
            done[event.branch] = event
    return [
        BranchResult(
            branch=i,
            text="".join(texts[i]),
            finish_reason=done[i].finish_reason if i in done else "error",
            prompt_tokens=done[i].prompt_tokens if i in done else 0,
            completion_tokens=done[i].completion_tokens if i in done else 0,
            error=done[i].error if i in done else "stream ended without a Done event",
        )
        for i in range(request.n)
    ]
