"""The story store: every project, character, lore entry, chapter, revision, passage and chat.

Public API: `Store` (one transaction per method, plain records out), the records, and the errors.
"""

from story_store.backup import BackupScheduler
from story_store.errors import ConflictError, NotFoundError, StoreError, ValidationError
from story_store.records import (
    BackupInfo,
    ChapterRecord,
    CharacterRecord,
    ChatMessageRecord,
    ChatSessionRecord,
    LoreEntryRecord,
    PassageRecord,
    PreferenceRecord,
    ProjectRecord,
    RevisionRecord,
    SearchHit,
    TrashItem,
)
from story_store.store import Store

__all__ = [
    "BackupInfo", "BackupScheduler", "ChapterRecord", "CharacterRecord", "ChatMessageRecord", "ChatSessionRecord",
    "ConflictError", "LoreEntryRecord", "NotFoundError", "PassageRecord", "PreferenceRecord",
    "ProjectRecord", "RevisionRecord", "SearchHit", "Store", "StoreError", "TrashItem",
    "ValidationError",
]
