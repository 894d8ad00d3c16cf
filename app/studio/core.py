"""What every use case shares: options, the update type, the error-translating store, streaming runs.

Invariants:
- every store call goes through `GuardedStore`, so a store error reaches the UI only as a
  `StudioError` subclass (conflict → SaveConflict with the current version; validation/not found →
  InvalidInput/NotFound);
- every streamed use case goes through `StudioCore.stream`, which registers the run under a new
  run id (for `cancel(run_id)` / `cancel_all`), yields at once an empty update carrying that id,
  then coalesced `GenerationUpdate`s, and always closes the run, so a closed generator cancels
  the engine and persists what was streamed.
- Stop contract: `cancel(run_id)` while the caller still iterates → the generator ends normally
  with a final update whose reasons are "cancelled" and the task's finishing step runs on what
  was streamed (draft/continue add it to the chapter). Closing the generator instead → the
  passage keeps its text with status "cancelled" and no finishing step runs (chapter untouched).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine import Engine, EngineInfo, GenerationRequest, SamplingParams
from app.memory.plan import TokenCache
from app.studio.errors import InvalidInput, NoModel, NotFound, SaveConflict, StudioError
from app.studio.streaming import GenerationRun, Snapshot, StreamSink
from story_store.errors import ConflictError, NotFoundError, StoreError, ValidationError
from story_store.records import ChapterRecord, ProjectRecord

# Tokens each task may generate unless the project's settings["max_new_tokens"][task] says otherwise.
DEFAULT_MAX_NEW_TOKENS = {
    "draft": 800, "continue": 300, "branch": 200, "brainstorm": 300,
    "summary": 300, "polish": 600, "roleplay": 200,
}
PROMPT_MARGIN_TOKENS = 16  # room for tokenizer disagreement at the prompt/generation seam
MAX_SEED = 2**31 - 1
REMEMBERED_PROMPTS = 64  # recent prompts by hash, so a Preference can carry its prompt


@dataclass(frozen=True)
class StudioOptions:
    export_dir: Path  # where exports are written (inside the data dir)
    demo: bool = False  # UI shows "demo model: text is random"
    ui_language: str = ""  # forced UI language ("en" | "zh"); "": the writer's choice, else the browser's
    stream_interval_s: float = 0.05  # coalescing: ≈20 UI updates/s
    persist_interval_s: float = 1.0  # streamed text saved to the store at least this often


@dataclass(frozen=True)
class GenerationUpdate:
    texts: tuple[str, ...]  # full text so far of each branch (len = n)
    passage_ids: tuple[int, ...]  # store ids of the passages being written (persisted while streaming)
    done: bool  # True on the final update
    finish_reasons: tuple[str, ...]  # "" while running, then stop|length|cancelled|error
    error: str = ""
    chapter: ChapterRecord | None = None  # set on the final update when the chapter changed
    message_id: int | None = None  # role-play reply id
    run_id: int = 0  # this generation run (for `Studio.cancel(run_id)`); set on every update


def translate_store_error(exc: StoreError) -> StudioError:
    if isinstance(exc, ConflictError):  # the message keeps its code (exc.message): the UI renders it
        return SaveConflict(exc.message, chapter_id=exc.chapter_id, current_version=exc.current_version,
                            base_version=exc.base_version)
    if isinstance(exc, NotFoundError):
        return NotFound(exc.message)
    if isinstance(exc, ValidationError):
        return InvalidInput(exc.message)
    return StudioError(exc.message)


class GuardedStore:
    """The Store with every public method's StoreError translated into a StudioError."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return target(*args, **kwargs)
            except StoreError as exc:
                raise translate_store_error(exc) from exc

        guarded.__name__ = name
        return guarded


Finalizer = Callable[[Snapshot], tuple[ChapterRecord | None, str]]


class StudioCore:
    """Shared services of the use-case modules (one instance per Studio)."""

    def __init__(self, store: Any, engine: Engine, options: StudioOptions) -> None:
        self.store = GuardedStore(store)
        self.engine = engine
        # Lore, character and summary texts repeat across requests: count each text's tokens once.
        self.count_tokens = TokenCache(engine.count_tokens)
        self.options = options
        self.last_plan: Any = None
        self._runs: dict[int, GenerationRun] = {}
        self._run_ids = itertools.count(1)
        self._runs_lock = threading.Lock()
        self._cancel_epoch = 0  # bumped by cancel_all; a run begun before a bump starts cancelled
        self._seeds = random.SystemRandom()
        self._prompts: OrderedDict[str, str] = OrderedDict()
        self._prompts_lock = threading.Lock()

    # --- settings ------------------------------------------------------------------------------
    def new_seed(self, seed: int | None) -> int:
        if seed is None:
            return self._seeds.randint(0, MAX_SEED)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InvalidInput(f"A seed must be a whole number between 0 and {MAX_SEED}; got {seed!r}.")
        return seed

    def require_model(self) -> EngineInfo:
        info = self.engine.info()
        if info.kind == "none":
            raise NoModel(info.notes or "No model is loaded. Start Inkstone with --demo, a model, or --openai-base-url.")
        return info

    def sampling_for(self, project: ProjectRecord) -> SamplingParams:
        stored = project.settings.get("sampling")
        stored = stored if isinstance(stored, dict) else {}
        known = {f.name for f in dataclasses.fields(SamplingParams)}
        try:
            return SamplingParams(**{k: v for k, v in stored.items() if k in known})
        except (TypeError, ValueError):
            return SamplingParams()  # a hand-edited bad value never blocks writing

    def max_new_tokens(self, project: ProjectRecord, task: str) -> int:
        per_task = project.settings.get("max_new_tokens")
        configured = per_task.get(task) if isinstance(per_task, dict) else None
        wanted = configured if isinstance(configured, int) and configured > 0 else DEFAULT_MAX_NEW_TOKENS[task]
        return max(1, min(wanted, self.engine.info().context_length // 2))

    def prompt_budget(self, max_new_tokens: int) -> int:
        return self.engine.info().context_length - max_new_tokens - PROMPT_MARGIN_TOKENS

    def remember_prompt(self, prompt_hash: str, prompt: str) -> None:
        with self._prompts_lock:
            self._prompts[prompt_hash] = prompt
            self._prompts.move_to_end(prompt_hash)
            while len(self._prompts) > REMEMBERED_PROMPTS:
                self._prompts.popitem(last=False)

    def prompt_text(self, prompt_hash: str) -> str:
        """The prompt behind a passage's hash if still remembered, else a reference to the hash."""
        with self._prompts_lock:
            return self._prompts.get(prompt_hash) or (f"sha256:{prompt_hash}" if prompt_hash else "")

    def make_request(self, prompt: str, stop: tuple[str, ...], *, n: int, max_new_tokens: int,
                     sampling: SamplingParams, seed: int) -> GenerationRequest:
        try:
            return GenerationRequest(prompt=prompt, n=n, max_new_tokens=max_new_tokens, sampling=sampling,
                                     stop=tuple(stop), seed=seed)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc

    # --- streaming -----------------------------------------------------------------------------
    @property
    def cancel_epoch(self) -> int:
        """Read before creating a generation's records and pass to `stream(begun_at=...)`."""
        return self._cancel_epoch

    def stream(self, request: GenerationRequest, sink: StreamSink, ids: tuple[int, ...], finalize: Finalizer,
               *, begun_at: int, message_id: int | None = None) -> Iterator[GenerationUpdate]:
        """Run `request`, yield ≈20 updates/s, then one final update after `finalize` (see module doc).

        `begun_at` is the cancel epoch read when the generation began: a `cancel_all` in between
        (while its passages were being created) cancels this run too.
        """
        run = GenerationRun(self.engine, request, sink, persist_interval_s=self.options.persist_interval_s)
        with self._runs_lock:
            run_id = next(self._run_ids)
            self._runs[run_id] = run
            if begun_at != self._cancel_epoch:
                run.cancel()
        running = ("",) * request.n
        try:
            run.start()
            yield GenerationUpdate(running, ids, False, running, message_id=message_id, run_id=run_id)
            for snap in run.snapshots(self.options.stream_interval_s):
                yield GenerationUpdate(snap.texts, ids, False, running, message_id=message_id, run_id=run_id)
            final = run.close()
            if final.unavailable:
                raise NoModel(final.error)
            chapter, problem = finalize(final)
            error = "; ".join(e for e in (final.error, problem) if e)
            yield GenerationUpdate(final.texts, ids, True, final.reasons, error, chapter, message_id, run_id)
        finally:
            run.close()
            with self._runs_lock:
                self._runs.pop(run_id, None)

    def cancel(self, run_id: int) -> None:
        """Cancel one run (queued in the engine or streaming); an unknown or finished id is a no-op."""
        with self._runs_lock:
            run = self._runs.get(run_id)
        if run is not None:
            run.cancel()

    def cancel_all(self) -> None:
        with self._runs_lock:
            self._cancel_epoch += 1
            runs = list(self._runs.values())
        for run in runs:
            run.cancel()
