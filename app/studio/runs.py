"""One engine run in flight: pump the engine stream on a worker thread, persist it, coalesce snapshots.

(Not to be confused with app.engine.streaming, the engine's own token streamer.)

Owns the lifecycle promise of every streamed use case:
- the worker thread reads `engine.stream` to its end; a saver thread persists the texts through a
  `StreamSink` every `persist_interval_s` while they change (on a clock of its own, so text is saved
  within that interval of arriving even when the engine then stalls), and the worker once more, with
  final status, at the end (after the saver has stopped, so the final save is the last);
- control characters other than tab and newlines are dropped from the model's text before anyone
  sees or stores it;
- the consumer (`GenerationRun.snapshots`) sees at most one snapshot per `stream_interval_s`
  (≈20/s), each carrying every branch;
- closing the consumer (UI Stop, closed tab, garbage collection) or `cancel()` sets the cancel event;
  `close()` then waits for the worker, which drains/closes the engine stream and persists what was
  streamed with status "cancelled". Chunks the engine still emits after the cancel are dropped, so
  the kept text is the text streamed up to the moment of the cancel. The engine itself never runs two generations at once (it queues).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from app.engine import Chunk, Done, Engine, EngineUnavailable, GenerationRequest
from app.studio.errors import message_of
from messages import Message

# Control characters a model may emit that no writer wants (and the store refuses NUL); \t \n \r stay.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
STATUS_FOR_REASON = {"stop": "done", "length": "done", "cancelled": "cancelled", "error": "error"}
_JOIN_TIMEOUT_S = 30.0


class StreamSink(Protocol):
    """Where streamed text goes: passages, a chat message, ..."""

    def save_partial(self, texts: tuple[str, ...]) -> None: ...

    def save_final(self, texts: tuple[str, ...], reasons: tuple[str, ...]) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    texts: tuple[str, ...]  # full text so far, one per branch
    reasons: tuple[str, ...]  # "" while a branch runs, then stop|length|cancelled|error
    error: str  # first error message ("" when none)
    finished: bool
    unavailable: bool = False  # the engine had no model: nothing was generated


class GenerationRun:
    """A single engine request pumped on a daemon thread; see the module docstring for the promises."""

    def __init__(self, engine: Engine, request: GenerationRequest, sink: StreamSink, *,
                 persist_interval_s: float) -> None:
        self._engine = engine
        self._request = request
        self._sink = sink
        self._persist_interval_s = persist_interval_s
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._drained = threading.Event()  # the engine stream has ended: the saver stops
        self._lock = threading.Lock()
        self._texts: list[list[str]] = [[] for _ in range(request.n)]
        self._reasons = [""] * request.n
        self._error = ""
        self._unavailable = False
        self._revision = 0  # bumps on every change; the consumer yields only on change
        self._started = False
        self._thread = threading.Thread(target=self._pump, name="inkstone-generation", daemon=True)

    # --- consumer side -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker (once; later calls do nothing)."""
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def branches(self) -> int:
        return self._request.n

    def cancel(self) -> None:
        self._cancel.set()

    def snapshots(self, stream_interval_s: float) -> Iterator[Snapshot]:
        """Coalesced snapshots while the run streams; returns once the worker has persisted the end."""
        seen = 0
        while not self._finished.wait(timeout=stream_interval_s):
            with self._lock:
                if self._revision == seen:
                    continue
                seen = self._revision
            yield self.snapshot()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                texts=tuple("".join(parts) for parts in self._texts),
                reasons=tuple(self._reasons),
                error=self._error,
                finished=self._finished.is_set(),
                unavailable=self._unavailable,
            )

    def close(self) -> Snapshot:
        """Cancel if still running, wait for the worker's final persist, return the final snapshot."""
        if not self._finished.is_set():
            self._cancel.set()
        if self._thread.is_alive():
            self._thread.join(timeout=_JOIN_TIMEOUT_S)
        return self.snapshot()

    # --- worker side ---------------------------------------------------------------------------
    def _pump(self) -> None:
        stream = None
        saver = threading.Thread(target=self._save_while_streaming, name="inkstone-saver", daemon=True)
        saver.start()
        try:
            stream = self._engine.stream(self._request, self._cancel)
            self._drain(stream)
        except EngineUnavailable as exc:  # an EngineError: its reason is a Message (a code the UI renders)
            self._fail(exc.message or str(exc), unavailable=True)
        except Exception as exc:  # the engine promises Done(error); this guards the ones that don't
            self._fail(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
        finally:
            if stream is not None and hasattr(stream, "close"):
                stream.close()
            self._drained.set()
            saver.join()
            self._persist_final()

    def _drain(self, stream: Iterator[Chunk | Done]) -> None:
        for event in stream:
            with self._lock:
                if isinstance(event, Chunk) and self._cancel.is_set():
                    continue  # text frozen at the cancel: what is kept is what was streamed by then
                if isinstance(event, Chunk):
                    self._texts[event.branch].append(_CONTROL_CHARS.sub("", event.text))
                else:
                    self._reasons[event.branch] = event.finish_reason
                    if event.error and not self._error:
                        self._error = event.error
                self._revision += 1

    def _save_while_streaming(self) -> None:
        """Every persist_interval_s until the stream ends: save the texts if they changed."""
        persisted = 0
        while not self._drained.wait(timeout=self._persist_interval_s):
            with self._lock:
                revision = self._revision
            if revision == persisted:
                continue
            try:
                self._sink.save_partial(self.snapshot().texts)
            except Exception as exc:  # reported like an engine failure; the final save still runs
                self._fail(str(exc) or type(exc).__name__)
                self.cancel()
                return
            persisted = revision

    def _fail(self, message: str, *, unavailable: bool = False) -> None:
        with self._lock:
            self._error = self._error or message
            self._unavailable = unavailable and not any(self._texts_joined())
            self._reasons = [r or "error" for r in self._reasons]
            self._revision += 1

    def _texts_joined(self) -> list[str]:
        return ["".join(parts) for parts in self._texts]

    def _persist_final(self) -> None:
        with self._lock:
            fallback = "cancelled" if self._cancel.is_set() else "error"
            if fallback == "error" and not self._error and not all(self._reasons):
                self._error = Message("studio.unfinished_branches")
            self._reasons = [r or fallback for r in self._reasons]
            self._revision += 1
        try:
            final = self.snapshot()
            self._sink.save_final(final.texts, final.reasons)
        except Exception as exc:  # report, never lose the in-memory text the consumer still holds
            with self._lock:
                self._error = self._error or Message("studio.not_saved", detail=message_of(exc))
        finally:
            self._finished.set()
