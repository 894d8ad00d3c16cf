"""The handle of one started generation: `Generation` (run id, records, `updates()`, `stop()`, `abandon()`).

Invariants (the Stop contract):
- a Generation exists only after its records (passages or a chat reply) were created and its run was
  registered under `run_id`, so the id is known before the first update;
- `updates()` yields at once an empty update, then coalesced updates (≈20/s, every branch in each), then
  exactly one final update (`done`) after the use case's finishing step; it can be iterated once;
- `stop()` (the writer's Stop): the stream ends normally with a final update whose reasons are
  "cancelled", and the finishing step runs on what was streamed (draft/continue add it to the chapter);
- `abandon()` (a closed page) or closing the `updates()` iterator: the engine is cancelled, the records
  keep the streamed text with status "cancelled", no finishing step runs and no final update is yielded;
- every store error raised while streaming reaches the caller as a StudioError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass

from app.studio.errors import NoModel, StudioError
from app.studio.runs import GenerationRun, Snapshot
from app.studio.store_seam import store_errors
from story_store.records import ChapterRecord

# The use case's finishing step: (final snapshot, passage ids) → (changed chapter or None, problem or "").
Finalizer = Callable[[Snapshot, tuple[int, ...]], tuple[ChapterRecord | None, str]]


def no_finish(final: Snapshot, passage_ids: tuple[int, ...]) -> tuple[ChapterRecord | None, str]:
    """The finishing step of use cases whose records are all the result (polish, role-play, brainstorm)."""
    return None, ""


@dataclass(frozen=True)
class GenerationUpdate:
    texts: tuple[str, ...]  # full text so far of each branch (len = n)
    passage_ids: tuple[int, ...]  # store ids of the passages being written (persisted while streaming)
    done: bool  # True on the final update
    finish_reasons: tuple[str, ...]  # "" while running, then stop|length|cancelled|error
    error: str = ""
    chapter: ChapterRecord | None = None  # set on the final update when the chapter changed
    message_id: int | None = None  # role-play reply id


class Generation:
    """One started generation (see the module docstring for the contract)."""

    def __init__(self, run_id: int, run: GenerationRun, *, passage_ids: tuple[int, ...] = (),
                 message_id: int | None = None, finish: Finalizer = no_finish,
                 stream_interval_s: float, on_end: Callable[[int], None]) -> None:
        self.run_id = run_id
        self.passage_ids = passage_ids
        self.message_id = message_id
        self._run = run
        self._finish = finish
        self._stream_interval_s = stream_interval_s
        self._on_end = on_end
        self._abandoned = threading.Event()
        self._claimed = False
        self._claim_lock = threading.Lock()

    def stop(self) -> None:
        """End the run; the stream still finishes with a final "cancelled" update and the finishing step."""
        self._run.cancel()

    def abandon(self) -> None:
        """Nobody is watching: cancel, keep the streamed text in the records, skip the finishing step.

        Safe from any thread, also while another thread iterates `updates()`."""
        self._abandoned.set()
        self._run.cancel()
        with self._claim_lock:
            never_streamed, self._claimed = not self._claimed, True
        if never_streamed:  # start the (cancelled) run so its records get their final status
            self._run.start()
            self._run.close()
            self._on_end(self.run_id)

    def updates(self) -> Generator[GenerationUpdate, None, None]:
        """The stream of updates (once per Generation)."""
        with self._claim_lock:
            if self._claimed and not self._abandoned.is_set():
                raise StudioError("This generation is already being streamed.")
            claimed_now, self._claimed = not self._claimed, True
        return self._stream() if claimed_now else _nothing()

    def _update(self, texts: tuple[str, ...], reasons: tuple[str, ...], *, done: bool = False, error: str = "",
                chapter: ChapterRecord | None = None) -> GenerationUpdate:
        return GenerationUpdate(texts, self.passage_ids, done, reasons, error, chapter, self.message_id)

    def _stream(self) -> Generator[GenerationUpdate, None, None]:
        running = ("",) * self._run.branches
        try:
            with store_errors():
                self._run.start()
                yield self._update(running, running)
                for snap in self._run.snapshots(self._stream_interval_s):
                    if self._abandoned.is_set():
                        return
                    yield self._update(snap.texts, running)
                final = self._run.close()
                if self._abandoned.is_set():
                    return
                if final.unavailable:
                    raise NoModel(final.error)
                chapter, problem = self._finish(final, self.passage_ids)
                error = "; ".join(e for e in (final.error, problem) if e)
                yield self._update(final.texts, final.reasons, done=True, error=error, chapter=chapter)
        finally:
            self._abandoned.set()  # a closed iterator is an abandoned generation
            self._run.close()
            self._on_end(self.run_id)


def _nothing() -> Generator[GenerationUpdate, None, None]:
    """The updates of an abandoned generation: none."""
    yield from ()
