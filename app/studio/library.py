"""The writer's library: projects, the trash, characters and lore entries.

Thin use cases over the `StoryStore`; each returns plain records. Invariants: deleting only ever moves
to the trash; `restore_item` brings anything back; the characters a lore entry is linked to (whose card
carries it on export) live in its `extensions["characters"]` as ids of characters of the same project,
and setting them keeps every other extension key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.interchange.cards import LINKED_CHARACTERS
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

    def update_project(self, project_id: int, base_version: int | None = None, **fields: Any) -> ProjectRecord:
        """Save details (title, synopsis, style guide, ...) based on the project's `version`; a stale
        `base_version` raises SaveConflict and nothing changes (None: an unconditional save)."""
        return self._store.update_project(project_id, base_version=base_version, **fields)

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
            raise InvalidInput("library.unknown_trash_kind", kind=kind, choices=", ".join(restorers))
        restorers[kind](item_id)

    # --- characters / lore -----------------------------------------------------------------------
    def list_characters(self, project_id: int) -> list[CharacterRecord]:
        return self._store.list_characters(project_id)

    def get_character(self, character_id: int) -> CharacterRecord:
        return self._store.get_character(character_id)

    def create_character(self, project_id: int, name: str, **fields: Any) -> CharacterRecord:
        return self._store.create_character(project_id, name, **fields)

    def update_character(self, character_id: int, base_version: int | None = None,
                         **fields: Any) -> CharacterRecord:
        """Save the sheet based on the character's `version` (stale: SaveConflict, nothing changes)."""
        return self._store.update_character(character_id, base_version=base_version, **fields)

    def delete_character(self, character_id: int) -> None:
        self._store.delete_character(character_id)

    def chapters_mentioning_character(self, character_id: int) -> list[ChapterRecord]:
        character = self._store.get_character(character_id)
        terms = [t for t in [character.name, *character.aliases] if t.strip()]
        return self._store.chapters_mentioning(character.project_id, terms)

    def list_lore(self, project_id: int) -> list[LoreEntryRecord]:
        return self._store.list_lore_entries(project_id)

    def create_lore_entry(self, project_id: int, linked_characters: Sequence[int] | None = None,
                          **fields: Any) -> LoreEntryRecord:
        """A new entry; `linked_characters`: ids of the characters whose cards carry it."""
        if linked_characters is not None:
            fields["extensions"] = self._with_links(project_id, fields.get("extensions") or {}, linked_characters)
        return self._store.create_lore_entry(project_id, **fields)

    def update_lore_entry(self, entry_id: int, base_version: int | None = None,
                          linked_characters: Sequence[int] | None = None, **fields: Any) -> LoreEntryRecord:
        """Save the entry based on its `version` (stale: SaveConflict, nothing changes); with
        `linked_characters` its character links are replaced in the same save."""
        if linked_characters is not None:
            entry = self._store.get_lore_entry(entry_id)
            fields["extensions"] = self._with_links(entry.project_id, entry.extensions, linked_characters)
        return self._store.update_lore_entry(entry_id, base_version=base_version, **fields)

    def linked_characters(self, entry: LoreEntryRecord) -> list[int]:
        """Ids of the characters (still in the project) the writer linked `entry` to."""
        present = {c.id for c in self._store.list_characters(entry.project_id)}
        stored = entry.extensions.get(LINKED_CHARACTERS)
        return [i for i in stored if i in present] if isinstance(stored, list) else []

    def _with_links(self, project_id: int, extensions: dict[str, Any], ids: Sequence[int]) -> dict[str, Any]:
        known = {c.id for c in self._store.list_characters(project_id)}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InvalidInput("library.unknown_linked_character", ids=", ".join(map(str, unknown)))
        links = sorted(set(ids))
        kept = {k: v for k, v in extensions.items() if k != LINKED_CHARACTERS}
        return {**kept, LINKED_CHARACTERS: links} if links else kept

    def delete_lore_entry(self, entry_id: int) -> None:
        self._store.delete_lore_entry(entry_id)

