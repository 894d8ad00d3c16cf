"""The stand-in engine used when no model can run: the studio stays usable, generation says why not."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from app.engine.token_estimate import estimate_tokens
from app.engine.types import EngineInfo, EngineUnavailable, Event, GenerationRequest


class UnavailableEngine:
    """info() reports kind "none"; count_tokens() is the documented estimate; stream() raises."""

    def __init__(self, reason: str, *, model_id: str = "", context_length: int = 8192) -> None:
        if not reason.strip():
            raise ValueError("an UnavailableEngine needs a reason the writer can act on")
        self.reason = reason
        self._model_id, self._context_length = model_id, context_length

    def info(self) -> EngineInfo:
        return EngineInfo(kind="none", model_id=self._model_id, context_length=self._context_length,
                          notes=self.reason, token_counts_exact=False)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, request: GenerationRequest, cancel: threading.Event | None = None) -> Iterator[Event]:
        raise EngineUnavailable(self.reason)
