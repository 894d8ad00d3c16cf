"""Store: the one public entry point to the story database (see the mixins for each concept).

`Store(url)` opens any SQLAlchemy URL (SQLite by default, PostgreSQL for a team server), applies
pending migrations, and exposes one method per use; each method is one transaction and returns
frozen records from `story_store.records`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from story_store.backup import BackupMixin
from story_store.chapters import ChapterMixin
from story_store.chat import ChatMixin
from story_store.content import ContentMixin
from story_store.continuity import ContinuityMixin
from story_store.learning import LearningMixin
from story_store.models import Chapter, Character, ChatSession, LoreEntry, Project
from story_store.passages import PassageMixin
from story_store.records import TrashItem
from story_store.recovery import RecoveryMixin
from story_store.search import SearchMixin
from story_store.user_settings import UserSettingsMixin

# kind -> (model, column used as the label)
TRASHABLE: dict[str, tuple[Any, Any]] = {
    "project": (Project, Project.title),
    "character": (Character, Character.name),
    "lore": (LoreEntry, LoreEntry.title),
    "chapter": (Chapter, Chapter.title),
    "chat": (ChatSession, ChatSession.title),
}


class Store(ContentMixin, ChapterMixin, PassageMixin, ChatMixin, SearchMixin, BackupMixin, ContinuityMixin,
            LearningMixin, UserSettingsMixin, RecoveryMixin):
    """The story store. Use as `with Store(url) as store:` or call `close()` when done."""

    def __enter__(self) -> Store:
        return self

    # History of the writer-editable field groups: list_field_revisions, get_field_revision and
    # restore_field_revision come from story_store.versioning.VersioningMixin (via the mixins).

    def list_trash(self, project_id: int | None = None) -> list[TrashItem]:
        """Everything in the trash (of one project, or of all), most recently deleted first."""
        items: list[TrashItem] = []
        with self._read() as session:
            if project_id is not None:
                self._project(session, project_id)
            for kind, (model, label) in TRASHABLE.items():
                owner = model.id if model is Project else model.project_id
                query = select(model.id, owner, label, model.deleted_at).where(
                    model.deleted_at.is_not(None))
                if project_id is not None:
                    query = query.where(owner == project_id)
                for row_id, owner_id, text, deleted_at in session.execute(query):
                    items.append(TrashItem(kind=kind, id=row_id, project_id=owner_id,
                                           label=_label(kind, text, row_id), deleted_at=deleted_at))
        return sorted(items, key=lambda item: (item.deleted_at, item.id), reverse=True)


def _label(kind: str, text: str, row_id: int) -> str:
    return text if text.strip() else f"untitled {kind} #{row_id}"
