"""The core every studio service shares: store, engine, options, seeds, remembered prompts, live runs.

Invariants:
- services talk to each other only through this core (and the core modules: recipe, context,
  generation, runs, sinks, story, store_seam); no service imports another;
- `start` is the only way a generation begins: it creates the use case's records, registers the run
  under a new run id and returns its `Generation` handle; `cancel_all` cancels every registered run,
  also one whose records were being created while it was called (the cancel epoch below).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.engine import Engine, EngineInfo, GenerationRequest, SamplingParams
from app.memory.plan import ContextPlan, TokenCache
from app.studio.errors import InvalidInput, NoModel, message_of
from app.studio.generation import Finalizer, Generation, no_finish
from app.studio.runs import GenerationRun, StreamSink
from app.studio.store_seam import StoryStore
from story_store.records import ChapterRecord, ProjectRecord

# Tokens each task may generate unless the project's settings["max_new_tokens"][task] says otherwise.
MIN_NEW_TOKENS = 4  # no generation may end before a few tokens (at most half its budget): never an empty one
DEFAULT_MAX_NEW_TOKENS = {
    "draft": 800, "continue": 300, "branch": 200, "brainstorm": 300,
    "summary": 300, "polish": 600, "roleplay": 200,
    "outline": 800, "character_bio": 500, "script_outline": 800, "short_video": 500,  # writing tools
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
    persist_interval_s: float = 0.25  # streamed text is saved at most this long after it arrives (goal ≤ 0.5 s)
    backup_dir: Path | None = None  # where the store's backups are (None: backups are not offered)
    adapters_dir: Path | None = None  # LoRA "my style" adapters + fine-tune checkpoints (None: not offered)
    base_model_path: Path | None = None  # the local model fine-tunes start from (None: fine-tuning not offered)


@dataclass(frozen=True)
class RunTarget:
    """Where a generation's text goes: the sink and the ids of the records it fills."""

    sink: StreamSink
    passage_ids: tuple[int, ...] = ()
    message_id: int | None = None


def sampling_for(project: ProjectRecord) -> SamplingParams:
    """The project's sampling defaults (a hand-edited bad value falls back to the defaults)."""
    stored = project.settings.get("sampling")
    stored = stored if isinstance(stored, dict) else {}
    known = {f.name for f in dataclasses.fields(SamplingParams)}
    try:
        return SamplingParams(**{k: v for k, v in stored.items() if k in known})
    except (TypeError, ValueError):
        return SamplingParams()  # a hand-edited bad value never blocks writing


class StudioCore:
    """Shared state and steps of the services (one instance per Studio)."""

    def __init__(self, store: StoryStore, engine: Engine, options: StudioOptions) -> None:
        self.store = store
        self.engine = engine
        # Lore, character and summary texts repeat across requests: count each text's tokens once.
        # a model loading in the background counts by estimate until it is loaded: those are not cached
        self.count_tokens = TokenCache(engine.count_tokens, provisional=lambda: bool(getattr(engine, "loading", False)))
        self.options = options
        self.last_plan: ContextPlan | None = None
        self._runs: dict[int, Generation] = {}
        self._run_ids = itertools.count(1)
        self._runs_lock = threading.Lock()
        self._cancel_epoch = 0  # bumped by cancel_all; a run whose records began before a bump is cancelled
        self._seeds = random.SystemRandom()
        self._prompts: OrderedDict[str, str] = OrderedDict()
        self._prompts_lock = threading.Lock()

    # --- records shared by several services -----------------------------------------------------
    def chapter_and_project(self, chapter_id: int) -> tuple[ChapterRecord, ProjectRecord]:
        """A live chapter and its project (InvalidInput for a chapter in the trash)."""
        chapter = self.store.get_chapter(chapter_id)
        if chapter.deleted_at is not None:
            raise InvalidInput("studio.chapter_in_trash")
        return chapter, self.store.get_project(chapter.project_id)

    # --- generation settings --------------------------------------------------------------------
    def new_seed(self, seed: int | None) -> int:
        if seed is None:
            return self._seeds.randint(0, MAX_SEED)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InvalidInput("studio.bad_seed", max=MAX_SEED, seed=seed)
        return seed

    def require_model(self) -> EngineInfo:
        info = self.engine.info()
        if info.kind in ("none", "loading"):  # loading: its notes say so, with the seconds so far
            raise NoModel(info.notes or "studio.no_model")
        return info

    def max_new_tokens(self, project: ProjectRecord, task: str, wanted: int | None = None) -> int:
        """`wanted` tokens, else the project's setting for `task`, else the default; at most half the context."""
        if wanted is None:
            per_task = project.settings.get("max_new_tokens")
            configured = per_task.get(task) if isinstance(per_task, dict) else None
            wanted = configured if isinstance(configured, int) and configured > 0 else DEFAULT_MAX_NEW_TOKENS[task]
        return max(1, min(wanted, self.engine.info().context_length // 2))

    def prompt_budget(self, max_new_tokens: int) -> int:
        return self.engine.info().context_length - max_new_tokens - PROMPT_MARGIN_TOKENS

    def make_request(self, prompt: str, stop: tuple[str, ...], *, n: int, max_new_tokens: int,
                     sampling: SamplingParams, seed: int) -> GenerationRequest:
        try:
            return GenerationRequest(prompt=prompt, n=n, max_new_tokens=max_new_tokens, sampling=sampling,
                                     stop=tuple(stop), seed=seed,
                                     min_new_tokens=min(MIN_NEW_TOKENS, max_new_tokens // 2))
        except ValueError as exc:
            raise InvalidInput(message_of(exc)) from exc

    # --- remembered prompts (so a Preference can carry the prompt text) --------------------------
    def remember_prompt(self, prompt_hash: str, prompt: str) -> None:
        self.store.save_prompt(prompt)  # durable: a preference keeps its prompt text across restarts
        with self._prompts_lock:
            self._prompts[prompt_hash] = prompt
            self._prompts.move_to_end(prompt_hash)
            while len(self._prompts) > REMEMBERED_PROMPTS:
                self._prompts.popitem(last=False)

    def prompt_text(self, prompt_hash: str) -> str:
        """The prompt behind a passage's hash if still remembered, else a reference to the hash."""
        with self._prompts_lock:
            remembered = self._prompts.get(prompt_hash)
        if remembered is None and prompt_hash:
            remembered = self.store.prompt_text(prompt_hash)  # stored by an earlier run of the studio
        return remembered or (f"sha256:{prompt_hash}" if prompt_hash else "")

    # --- runs -----------------------------------------------------------------------------------
    def start(self, request: GenerationRequest, create_records: Callable[[], RunTarget],
              finish: Finalizer = no_finish) -> Generation:
        """Create the records, register the run, return its handle (nothing streams until `updates()`)."""
        with self._runs_lock:
            begun_at = self._cancel_epoch
        target = create_records()
        run = GenerationRun(self.engine, request, target.sink, persist_interval_s=self.options.persist_interval_s)
        with self._runs_lock:
            run_id = next(self._run_ids)
            generation = Generation(run_id, run, passage_ids=target.passage_ids, message_id=target.message_id,
                                    finish=finish, stream_interval_s=self.options.stream_interval_s,
                                    on_end=self._forget)
            self._runs[run_id] = generation
            if begun_at != self._cancel_epoch:
                run.cancel()
        return generation

    def _forget(self, run_id: int) -> None:
        with self._runs_lock:
            self._runs.pop(run_id, None)

    def cancel_all(self) -> None:
        """Stop every registered generation (each still ends with its final update)."""
        with self._runs_lock:
            self._cancel_epoch += 1
            generations = list(self._runs.values())
        for generation in generations:
            generation.stop()
