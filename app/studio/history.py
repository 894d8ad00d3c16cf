"""History of the writer-editable field groups: list the saved values, restore one.

Field groups (story_store.versioning.GROUPS): project details / settings, a character sheet, a lore
entry, a chapter's outline / summary / title-status-POV, a chat message's text. Invariants: a restore
is a new save based on the group's current version (a stale one raises SaveConflict, nothing changes)
and refuses a revision of another record.
"""

from __future__ import annotations

from typing import Any

from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import FieldRevisionRecord
from story_store.versioning import GROUPS


@translates_store_errors
class HistoryService:
    def __init__(self, store: StoryStore) -> None:
        self._store = store

    @staticmethod
    def field_groups(kind: str) -> tuple[str, ...]:
        """The group names of a record kind, e.g. ("outline", "summary", "meta") for "chapter"."""
        if kind not in GROUPS:
            raise InvalidInput(f"No history is kept for {kind!r}.", code="history.unknown_kind", kind=str(kind)[:40])
        return tuple(GROUPS[kind])

    def list_revisions(self, kind: str, record_id: int, field_group: str) -> list[FieldRevisionRecord]:
        """Every saved value of one field group of a record, newest first."""
        return self._store.list_field_revisions(kind, record_id, field_group)

    def get_revision(self, revision_id: int) -> FieldRevisionRecord:
        return self._store.get_field_revision(revision_id)

    def restore(self, revision_id: int, base_version: int, kind: str, record_id: int) -> Any:
        """Make a saved value current again (a new version); returns the record as stored afterwards."""
        revision = self._store.get_field_revision(revision_id)
        if (revision.kind, revision.record_id) != (kind, record_id):
            raise InvalidInput("studio.history_other_record", code="history.other_record", revision_id=revision_id)
        return self._store.restore_field_revision(revision_id, base_version)
