"""The writer's library: projects, characters, lore, chapters, revisions, the trash and settings.

Thin use cases over the Store (through the error-translating `GuardedStore`); each returns plain
records. Invariant: deleting only ever moves to the trash; `restore_item` brings anything back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from app.engine import EngineInfo, SamplingParams
from app.studio.core import StudioCore
from app.studio.errors import InvalidInput
from story_store.records import (
    ChapterRecord,
    CharacterRecord,
    LoreEntryRecord,
    ProjectRecord,
    RevisionRecord,
    TrashItem,
)

_CHAPTER_META = ("title", "outline", "summary", "status", "pov_character_id")


class LibraryMixin:
    _core: StudioCore

    # --- engine / settings -----------------------------------------------------------------------
    def engine_info(self) -> EngineInfo:
        return self._core.engine.info()

    def sampling_defaults(self, project_id: int) -> SamplingParams:
        return self._core.sampling_for(self._core.store.get_project(project_id))

    def set_sampling_defaults(self, project_id: int, params: SamplingParams) -> ProjectRecord:
        if not isinstance(params, SamplingParams):
            raise InvalidInput("Sampling defaults must be a SamplingParams value.")
        project = self._core.store.get_project(project_id)
        settings = {**project.settings, "sampling": dataclasses.asdict(params)}
        return self._core.store.update_project(project_id, settings=settings)

    # --- projects --------------------------------------------------------------------------------
    def list_projects(self, include_deleted: bool = False) -> list[ProjectRecord]:
        return self._core.store.list_projects(include_deleted=include_deleted)

    def get_project(self, project_id: int) -> ProjectRecord:
        return self._core.store.get_project(project_id)

    def create_project(self, title: str, language: str = "zh", genre: str = "", synopsis: str = "",
                       style_guide: str = "") -> ProjectRecord:
        return self._core.store.create_project(title, language=language, genre=genre, synopsis=synopsis,
                                               style_guide=style_guide)

    def update_project(self, project_id: int, **fields: Any) -> ProjectRecord:
        return self._core.store.update_project(project_id, **fields)

    def delete_project(self, project_id: int) -> None:
        self._core.store.delete_project(project_id)

    def restore_project(self, project_id: int) -> ProjectRecord:
        return self._core.store.restore_project(project_id)

    def list_trash(self, project_id: int | None = None) -> list[TrashItem]:
        return self._core.store.list_trash(project_id)

    def restore_item(self, kind: str, item_id: int) -> None:
        restorers = {
            "project": self._core.store.restore_project,
            "character": self._core.store.restore_character,
            "lore": self._core.store.restore_lore_entry,
            "chapter": self._core.store.restore_chapter,
            "chat": self._core.store.restore_chat_session,
        }
        if kind not in restorers:
            raise InvalidInput(f"Unknown kind of trash item {kind!r}; expected one of {', '.join(restorers)}.")
        restorers[kind](item_id)

    # --- characters / lore -----------------------------------------------------------------------
    def list_characters(self, project_id: int) -> list[CharacterRecord]:
        return self._core.store.list_characters(project_id)

    def get_character(self, character_id: int) -> CharacterRecord:
        return self._core.store.get_character(character_id)

    def create_character(self, project_id: int, name: str, **fields: Any) -> CharacterRecord:
        return self._core.store.create_character(project_id, name, **fields)

    def update_character(self, character_id: int, **fields: Any) -> CharacterRecord:
        return self._core.store.update_character(character_id, **fields)

    def delete_character(self, character_id: int) -> None:
        self._core.store.delete_character(character_id)

    def chapters_mentioning_character(self, character_id: int) -> list[ChapterRecord]:
        character = self._core.store.get_character(character_id)
        terms = [t for t in [character.name, *character.aliases] if t.strip()]
        return self._core.store.chapters_mentioning(character.project_id, terms)

    def list_lore(self, project_id: int) -> list[LoreEntryRecord]:
        return self._core.store.list_lore_entries(project_id)

    def create_lore_entry(self, project_id: int, **fields: Any) -> LoreEntryRecord:
        return self._core.store.create_lore_entry(project_id, **fields)

    def update_lore_entry(self, entry_id: int, **fields: Any) -> LoreEntryRecord:
        return self._core.store.update_lore_entry(entry_id, **fields)

    def delete_lore_entry(self, entry_id: int) -> None:
        self._core.store.delete_lore_entry(entry_id)

    # --- chapters --------------------------------------------------------------------------------
    def list_chapters(self, project_id: int) -> list[ChapterRecord]:
        return self._core.store.list_chapters(project_id)

    def get_chapter(self, chapter_id: int) -> ChapterRecord:
        return self._core.store.get_chapter(chapter_id)

    def add_chapter(self, project_id: int, title: str = "", outline: str = "") -> ChapterRecord:
        return self._core.store.create_chapter(project_id, title=title, outline=outline)

    def update_chapter_meta(self, chapter_id: int, **fields: Any) -> ChapterRecord:
        unknown = sorted(set(fields) - set(_CHAPTER_META))
        if unknown:
            raise InvalidInput(f"Chapter details that can be edited are {', '.join(_CHAPTER_META)}; "
                               f"not {', '.join(unknown)} (the text is saved with save_chapter).")
        return self._core.store.update_chapter_meta(chapter_id, **fields)

    def move_chapter(self, chapter_id: int, new_ordinal: int) -> list[ChapterRecord]:
        return self._core.store.move_chapter(chapter_id, new_ordinal)

    def delete_chapter(self, chapter_id: int) -> None:
        self._core.store.delete_chapter(chapter_id)

    def save_chapter(self, chapter_id: int, text: str, base_version: int) -> ChapterRecord:
        """Save the editor's text as a new revision; a stale `base_version` raises SaveConflict."""
        return self._core.store.save_chapter_text(chapter_id, text, base_version, source="user")

    def list_revisions(self, chapter_id: int) -> list[RevisionRecord]:
        return self._core.store.list_revisions(chapter_id)

    def restore_revision(self, revision_id: int, base_version: int, chapter_id: int | None = None) -> ChapterRecord:
        """Make an earlier revision current (a new revision); refuses one of another chapter."""
        if chapter_id is not None and self._core.store.get_revision(revision_id).chapter_id != chapter_id:
            raise InvalidInput("This revision belongs to another chapter; nothing was restored.")
        return self._core.store.restore_revision(revision_id, base_version)
