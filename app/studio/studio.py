"""The Studio: the one object the UI is given; it holds one service per concept over one core.

The UI calls services by name (`studio.writing.continue_chapter(...)`, `studio.library.list_projects()`).
Each service is a plain class whose dependencies are constructor arguments; generation services share
the `StudioCore` (engine, options, live runs), the others only need the store.
"""

from __future__ import annotations

from app.engine import Engine
from app.studio.branches import BranchService
from app.studio.chapters import ChapterService
from app.studio.consistency import ConsistencyService
from app.studio.core import StudioCore, StudioOptions
from app.studio.exchange import ExchangeService
from app.studio.history import HistoryService
from app.studio.library import LibraryService
from app.studio.measures import MeasureService
from app.studio.search import SearchService
from app.studio.polish import PolishService
from app.studio.preferences import PreferencesService
from app.studio.roleplay import RoleplayService
from app.studio.settings import SettingsService
from app.studio.store_seam import StoryStore
from app.studio.style import StyleService
from app.studio.tools import WritingToolsService
from app.studio.writing import WritingService


class Studio:
    """Use cases of the novelist's studio over a StoryStore and an Engine; returns plain records."""

    def __init__(self, store: StoryStore, engine: Engine, options: StudioOptions) -> None:
        self._core = core = StudioCore(store, engine, options)
        self.library = LibraryService(store)
        self.chapters = ChapterService(store)
        self.settings = SettingsService(store, engine, options.backup_dir)
        self.writing = WritingService(core)
        self.branches = BranchService(core)
        self.measures = MeasureService(core)
        self.search = SearchService(store)
        self.polish = PolishService(core)
        self.roleplay = RoleplayService(core)
        self.exchange = ExchangeService(store, options.export_dir)
        self.consistency = ConsistencyService(core)
        self.history = HistoryService(store)
        self.style = StyleService(core)
        self.tools = WritingToolsService(core)  # outline, character bio, script outline, short video
        self.preferences = PreferencesService(store)  # the writer's language and last place

    @property
    def options(self) -> StudioOptions:
        return self._core.options

    def cancel_all(self) -> None:
        """Stop every generation in flight; each still ends with its final update and keeps its text."""
        self._core.cancel_all()
