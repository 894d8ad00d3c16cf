"""Loading the engine in the background, so the server answers (and shows the load) first.

`BackgroundEngine(build)` runs `build()` on a daemon thread and is an Engine at once:
- while loading, `info().kind` is "loading" (with the seconds spent so far), `count_tokens` is the
  documented estimate, and `stream` raises EngineUnavailable with the code `engine.loading`;
- once loaded, every call (and every optional attribute: `score`, `use_adapter`, …) goes to the
  built engine;
- a build that raises becomes an UnavailableEngine with the code `engine.load_crashed`, so the
  studio stays open and says why.

Invariant: `loaded` is set exactly once, after `_engine` holds the final engine (readers that see
`loaded` set always see that engine).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.engine.token_estimate import estimate_tokens
from app.engine.types import Engine, EngineInfo, EngineUnavailable, Event, GenerationRequest
from app.engine.unavailable import UnavailableEngine
from messages import Message

LOADING_KIND = "loading"


class BackgroundEngine:
    def __init__(self, build: Callable[[], Engine], *, model_id: str, context_length: int,
                 on_loaded: Callable[[Engine], None] | None = None) -> None:
        self._build, self._on_loaded = build, on_loaded
        self._model_id, self._context_length = model_id, context_length
        self._engine: Engine | None = None
        self._started = time.monotonic()
        self.loaded = threading.Event()
        self._thread = threading.Thread(target=self._load, name="inkstone-model-load", daemon=True)

    def start(self) -> BackgroundEngine:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once the load has ended (a model, or the reason there is none)."""
        return self.loaded.wait(timeout)

    def _load(self) -> None:
        try:
            engine = self._build()
        except Exception as error:  # noqa: BLE001 - any crash while loading is said, not raised
            engine = UnavailableEngine(Message("engine.load_crashed", model=self._model_id,
                                               detail=str(error) or type(error).__name__),
                                       model_id=self._model_id, context_length=self._context_length)
        self._engine = engine
        self.loaded.set()
        if self._on_loaded is not None:
            self._on_loaded(engine)

    @property
    def loading(self) -> bool:
        return not self.loaded.is_set()

    def _ready(self) -> Engine | None:
        return self._engine if self.loaded.is_set() else None

    def info(self) -> EngineInfo:
        engine = self._ready()
        if engine is not None:
            return engine.info()
        seconds = int(time.monotonic() - self._started)
        return EngineInfo(kind=LOADING_KIND, model_id=self._model_id, context_length=self._context_length,
                          notes=Message("engine.loading", model=self._model_id, seconds=seconds),
                          token_counts_exact=False)

    def count_tokens(self, text: str) -> int:
        engine = self._ready()
        return engine.count_tokens(text) if engine is not None else estimate_tokens(text)

    def stream(self, request: GenerationRequest, cancel: threading.Event | None = None) -> Iterator[Event]:
        engine = self._ready()
        if engine is None:
            raise EngineUnavailable(self.info().notes)
        return engine.stream(request, cancel)

    def __getattr__(self, name: str) -> Any:
        """Optional engine features (score, use_adapter, active_adapter…): the loaded engine's, or
        absent while loading (callers already treat a missing feature as "not offered")."""
        if name.startswith("_"):
            raise AttributeError(name)
        engine = self._ready()
        if engine is None:
            raise AttributeError(name)
        return getattr(engine, name)
