"""The writer's library: projects, the trash, characters and lore entries.

Thin use cases over the `StoryStore`; each returns plain records. Invariant: deleting only ever moves
to the trash; `restore_item` brings anything back.
"""

from __future__ import annotations

from typing import Any

from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import ChapterRecord, CharacterRecord, LoreEntryRecord, ProjectRecord, TrashItem


@translates_store_errors
class LibraryService:
    def __init__(self, store: StoryStore) -> None:
        self._store = store

    # --- projects --------------------------------------------------------------------------------
    def list_projects(self, include_deleted: bool = False) -> list[ProjectRecord]:
        return self._store.list_projects(include_deleted=include_deleted)

    def get_project(self, project_id: int) -> ProjectRecord:
        return self._store.get_project(project_id)

    def create_project(self, title: str, language: str = "zh", genre: str = "", synopsis: str = "",
                       style_guide: str = "") -> ProjectRecord:
        return self._store.create_project(title, language=language, genre=genre, synopsis=synopsis,
                                               style_guide=style_guide)

    def update_project(self, project_id: int, **fields: Any) -> ProjectRecord:
        return self._store.update_project(project_id, **fields)

    def delete_project(self, project_id: int) -> None:
        self._store.delete_project(project_id)

    def restore_project(self, project_id: int) -> ProjectRecord:
        return self._store.restore_project(project_id)

    def list_trash(self, project_id: int | None = None) -> list[TrashItem]:
        return self._store.list_trash(project_id)

    def restore_item(self, kind: str, item_id: int) -> None:
        restorers = {
            "project": self._store.restore_project,
            "character": self._store.restore_character,
            "lore": self._store.restore_lore_entry,
            "chapter": self._store.restore_chapter,
            "chat": self._store.restore_chat_session,
        }
        if kind not in restorers:
            raise InvalidInput(f"Unknown kind of trash item {kind!r}; expected one of {', '.join(restorers)}.")
        restorers[kind](item_id)

    # --- characters / lore -----------------------------------------------------------------------
    def list_characters(self, project_id: int) -> list[CharacterRecord]:
        return self._store.list_characters(project_id)

    def get_character(self, character_id: int) -> CharacterRecord:
        return self._store.get_character(character_id)

    def create_character(self, project_id: int, name: str, **fields: Any) -> CharacterRecord:
        return self._store.create_character(project_id, name, **fields)

    def update_character(self, character_id: int, **fields: Any) -> CharacterRecord:
        return self._store.update_character(character_id, **fields)

    def delete_character(self, character_id: int) -> None:
        self._store.delete_character(character_id)

    def chapters_mentioning_character(self, character_id: int) -> list[ChapterRecord]:
        character = self._store.get_character(character_id)
        terms = [t for t in [character.name, *character.aliases] if t.strip()]
        return self._store.chapters_mentioning(character.project_id, terms)

    def list_lore(self, project_id: int) -> list[LoreEntryRecord]:
        return self._store.list_lore_entries(project_id)

    def create_lore_entry(self, project_id: int, **fields: Any) -> LoreEntryRecord:
        return self._store.create_lore_entry(project_id, **fields)

    def update_lore_entry(self, entry_id: int, **fields: Any) -> LoreEntryRecord:
        return self._store.update_lore_entry(entry_id, **fields)

    def delete_lore_entry(self, entry_id: int) -> None:
        self._store.delete_lore_entry(entry_id)

