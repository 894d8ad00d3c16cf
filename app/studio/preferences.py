"""The writer's own preferences, kept in the story store: the interface language and the place they
were working at (project, chapter per project, tab), so a reload or a restart reopens it.

Invariants: the language is "en" or "zh" (or unset: the UI then follows the browser); a remembered
place only ever names a live project and one of its live chapters — what has since been deleted or
trashed is forgotten on read, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from messages import LANGUAGES
from story_store.errors import StoreError

LANGUAGE_SETTING = "ui.language"
PLACE_SETTING = "ui.place"
MAX_TAB_ID = 40


@dataclass(frozen=True)
class Place:
    """Where the writer was: the open project, the chapter last open in each project, the tab."""

    project_id: int | None = None
    chapters: dict[int, int] = field(default_factory=dict)  # project id -> chapter id
    tab: str | None = None

    @property
    def chapter_id(self) -> int | None:
        return self.chapters.get(self.project_id) if self.project_id is not None else None


@translates_store_errors
class PreferencesService:
    """Reads and writes the writer's preferences in the story store."""

    def __init__(self, store: StoryStore) -> None:
        self._store = store

    # --- language ------------------------------------------------------------------------------
    def language(self) -> str | None:
        stored = self._store.get_user_setting(LANGUAGE_SETTING)
        return stored if stored in LANGUAGES else None

    def set_language(self, language: str) -> str:
        if language not in LANGUAGES:
            raise InvalidInput("studio.unknown_language", language=repr(language), choices=", ".join(LANGUAGES))
        return self._store.set_user_setting(LANGUAGE_SETTING, language)

    # --- place ---------------------------------------------------------------------------------
    def place(self) -> Place:
        """The remembered place, with whatever no longer exists left out."""
        raw = self._store.get_user_setting(PLACE_SETTING) or {}
        raw = raw if isinstance(raw, dict) else {}
        project_id = self._live_project(raw.get("project_id"))
        chapters = {}
        for key, chapter_id in dict(raw.get("chapters") or {}).items():
            if str(key).isdigit() and self._live_chapter(int(key), chapter_id):
                chapters[int(key)] = int(chapter_id)
        tab = raw.get("tab") if isinstance(raw.get("tab"), str) and len(raw["tab"]) <= MAX_TAB_ID else None
        return Place(project_id, chapters, tab)

    def remember_place(self, *, project_id: int | None = None, chapter_id: int | None = None,
                       tab: str | None = None) -> Place:
        """Note the open project (and its open chapter) and/or the tab; the rest stays as it was."""
        raw = self._store.get_user_setting(PLACE_SETTING) or {}
        raw = dict(raw) if isinstance(raw, dict) else {}
        if project_id is not None:
            raw["project_id"] = int(project_id)
            if chapter_id is not None:
                raw["chapters"] = {**dict(raw.get("chapters") or {}), str(int(project_id)): int(chapter_id)}
        if tab is not None:
            if not isinstance(tab, str) or len(tab) > MAX_TAB_ID:
                raise InvalidInput("studio.bad_tab", tab=repr(tab)[:60])
            raw["tab"] = tab
        self._store.set_user_setting(PLACE_SETTING, raw)
        return self.place()

    def _live_project(self, project_id: Any) -> int | None:
        if not isinstance(project_id, int) or isinstance(project_id, bool):
            return None
        live = {p.id for p in self._store.list_projects()}
        return project_id if project_id in live else None

    def _live_chapter(self, project_id: int, chapter_id: Any) -> bool:
        if not isinstance(chapter_id, int) or isinstance(chapter_id, bool):
            return False
        try:
            chapter = self._store.get_chapter(chapter_id)
        except StoreError:  # gone for good
            return False
        return chapter.project_id == project_id and chapter.deleted_at is None
