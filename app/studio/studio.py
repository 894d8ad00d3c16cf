"""The Studio facade: the one object the UI talks to (contract: docs in app/studio/__init__.py).

Each concept lives in its own mixin module (library, writing, branches, polish, roleplay, exchange);
they share one `StudioCore` (store behind the error translator, engine, options, live runs).
"""

from __future__ import annotations

from typing import Any

from app.engine import Engine
from app.studio.branches import BranchesMixin
from app.studio.core import StudioCore, StudioOptions
from app.studio.exchange import ExchangeMixin
from app.studio.library import LibraryMixin
from app.studio.measures import MeasureService
from app.studio.polish import PolishMixin
from app.studio.roleplay import RoleplayMixin
from app.studio.writing import WritingMixin


class Studio(LibraryMixin, WritingMixin, BranchesMixin, PolishMixin, RoleplayMixin, ExchangeMixin):
    """Use cases of the novelist's studio over a Store and an Engine; returns plain records."""

    def __init__(self, store: Any, engine: Engine, options: StudioOptions) -> None:
        self._core = StudioCore(store, engine, options)
        self.measures = MeasureService(self._core)

    @property
    def options(self) -> StudioOptions:
        return self._core.options

    def cancel(self, run_id: int) -> None:
        """Cancel only generation `run_id` (`GenerationUpdate.run_id`); it still ends with a final update."""
        self._core.cancel(run_id)

    def cancel_all(self) -> None:
        """Cancel every generation in flight; each still persists what it streamed."""
        self._core.cancel_all()
