"""Chapters and their revisions: list, add, edit details, reorder, trash, save text, restore a revision.

Invariants: every save is a new revision and carries the version it was based on (a stale one raises
SaveConflict, nothing overwritten); chapter statuses are `story_store.records.CHAPTER_STATUSES`.
"""

from __future__ import annotations

from typing import Any

from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import ChapterRecord, RevisionRecord

_CHAPTER_META = ("title", "outline", "summary", "status", "pov_character_id")


@translates_store_errors
class ChapterService:
    def __init__(self, store: StoryStore) -> None:
        self._store = store

    def list_chapters(self, project_id: int) -> list[ChapterRecord]:
        return self._store.list_chapters(project_id)

    def get_chapter(self, chapter_id: int) -> ChapterRecord:
        return self._store.get_chapter(chapter_id)

    def add_chapter(self, project_id: int, title: str = "", outline: str = "") -> ChapterRecord:
        return self._store.create_chapter(project_id, title=title, outline=outline)

    def update_chapter_meta(self, chapter_id: int, **fields: Any) -> ChapterRecord:
        unknown = sorted(set(fields) - set(_CHAPTER_META))
        if unknown:
            raise InvalidInput(f"Chapter details that can be edited are {', '.join(_CHAPTER_META)}; "
                               f"not {', '.join(unknown)} (the text is saved with save_chapter).")
        return self._store.update_chapter_meta(chapter_id, **fields)

    def move_chapter(self, chapter_id: int, new_ordinal: int) -> list[ChapterRecord]:
        return self._store.move_chapter(chapter_id, new_ordinal)

    def delete_chapter(self, chapter_id: int) -> None:
        self._store.delete_chapter(chapter_id)

    def save_chapter(self, chapter_id: int, text: str, base_version: int) -> ChapterRecord:
        """Save the editor's text as a new revision; a stale `base_version` raises SaveConflict."""
        return self._store.save_chapter_text(chapter_id, text, base_version, source="user")

    def list_revisions(self, chapter_id: int) -> list[RevisionRecord]:
        return self._store.list_revisions(chapter_id)

    def restore_revision(self, revision_id: int, base_version: int, chapter_id: int | None = None) -> ChapterRecord:
        """Make an earlier revision current (a new revision); refuses one of another chapter."""
        if chapter_id is not None and self._store.get_revision(revision_id).chapter_id != chapter_id:
            raise InvalidInput("This revision belongs to another chapter; nothing was restored.")
        return self._store.restore_revision(revision_id, base_version)
