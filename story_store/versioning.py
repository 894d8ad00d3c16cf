"""Optimistic concurrency and history for every writer-editable field group except chapter text.

A field group is a set of fields the writer edits and saves together (a character sheet, a lore
entry, a chapter's outline, a project's details, ...). Each group has a version column on its row.
Invariants:
- a save names the version it was based on (`base_version`); a stale one raises ConflictError
  (who saved the current version, when, and what changed since the base) and writes nothing;
  `base_version=None` is the studio's own write (a generated summary, a status change after a
  draft) and is never refused, but it is versioned and kept in history like any other save;
- every save that changes something adds one FieldRevision holding the whole group after the save
  and moves the version up by one; the first save of a group also keeps the values it replaced
  (source "original"), so no earlier value is ever lost;
- saving exactly the stored values changes nothing (no new version, no revision);
- restoring a revision is a save (source "restore") and is checked against `base_version` too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from story_store.base import RowCheck, StoreBase, editable_fields
from story_store.errors import ConflictError, ValidationError
from story_store.fields import MAX_INT32, check_choice, check_fields, check_int, check_text
from story_store.models import Chapter, Character, ChatMessage, ChatSession, FieldRevision, LoreEntry, Project
from story_store.records import (
    ChapterRecord,
    CharacterRecord,
    ChatMessageRecord,
    FieldRevisionRecord,
    LoreEntryRecord,
    ProjectRecord,
    to_record,
)


@dataclass(frozen=True)
class FieldGroup:
    kind: str  # project|character|lore|chapter|chat_message
    name: str  # the group's name within its kind
    model: type
    record: type
    version_column: str
    fields: tuple[str, ...]


def change_size(before: str, after: str) -> tuple[int, int]:
    """(+added, -removed) characters of the span that differs once the common ends are trimmed."""
    prefix = len(os.path.commonprefix([before, after]))
    rest_before, rest_after = before[prefix:], after[prefix:]
    suffix = len(os.path.commonprefix([rest_before[::-1], rest_after[::-1]]))
    return len(rest_after) - suffix, len(rest_before) - suffix


def _groups(*groups: FieldGroup) -> dict[str, FieldGroup]:
    return {group.name: group for group in groups}


_PROJECT_DETAILS = ("title", "language", "genre", "synopsis", "style_guide", "authors_note")
GROUPS: dict[str, dict[str, FieldGroup]] = {
    "project": _groups(
        FieldGroup("project", "details", Project, ProjectRecord, "version", _PROJECT_DETAILS),
        FieldGroup("project", "settings", Project, ProjectRecord, "settings_version", ("settings",))),
    "character": _groups(FieldGroup("character", "sheet", Character, CharacterRecord, "version",
                                    editable_fields(CharacterRecord))),
    "lore": _groups(FieldGroup("lore", "entry", LoreEntry, LoreEntryRecord, "version",
                               editable_fields(LoreEntryRecord))),
    "chapter": _groups(
        FieldGroup("chapter", "outline", Chapter, ChapterRecord, "outline_version", ("outline",)),
        FieldGroup("chapter", "summary", Chapter, ChapterRecord, "summary_version", ("summary",)),
        FieldGroup("chapter", "meta", Chapter, ChapterRecord, "meta_version",
                   ("title", "status", "pov_character_id"))),
    "chat_message": _groups(FieldGroup("chat_message", "text", ChatMessage, ChatMessageRecord, "version",
                                       ("text",))),
}
SOURCES = frozenset({"user", "ai", "import", "restore"})
NOUNS = {"project": "project", "character": "character", "lore": "lore entry", "chapter": "chapter",
         "chat_message": "chat message"}


def field_groups(kind: str) -> dict[str, FieldGroup]:
    """The field groups of a record kind (ValidationError `history.unknown_kind` for others)."""
    if kind not in GROUPS:
        raise ValidationError(f"no history is kept for {kind!r}; kinds: {', '.join(GROUPS)}",
                              code="history.unknown_kind", kind=str(kind)[:40], kinds=list(GROUPS))
    return GROUPS[kind]


def _split(kind: str, values: Mapping[str, Any]) -> dict[FieldGroup, dict[str, Any]]:
    """The changed fields, grouped by the field group each belongs to (in the kind's group order)."""
    parts: dict[FieldGroup, dict[str, Any]] = {}
    for group in GROUPS[kind].values():
        part = {name: value for name, value in values.items() if name in group.fields}
        if part:
            parts[group] = part
    return parts


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def _plain(value: Any) -> Any:
    """A deep copy of a JSON value (so a stored revision never shares lists/dicts with a row)."""
    return json.loads(json.dumps(value, ensure_ascii=False)) if isinstance(value, (dict, list)) else value


class VersioningMixin(StoreBase):
    """Versioned saves, history and restore for the groups in `GROUPS`."""

    def list_field_revisions(self, kind: str, record_id: int,
                             field_group: str | None = None) -> list[FieldRevisionRecord]:
        """Every saved value of the record's field groups (or of one group), newest first."""
        groups = field_groups(kind)
        if field_group is not None and field_group not in groups:
            raise self._unknown_group(kind, field_group)
        model = next(iter(groups.values())).model
        query = select(FieldRevision).where(FieldRevision.kind == kind, FieldRevision.record_id == record_id)
        if field_group is not None:
            query = query.where(FieldRevision.field_group == field_group)
        query = query.order_by(FieldRevision.created_at.desc(), FieldRevision.id.desc())
        with self._read() as session:
            self._row(session, model, record_id)
            return [to_record(row, FieldRevisionRecord) for row in session.scalars(query)]

    def get_field_revision(self, revision_id: int) -> FieldRevisionRecord:
        return self._get(FieldRevision, FieldRevisionRecord, revision_id)

    def restore_field_revision(self, revision_id: int, base_version: int, author: str = "") -> Any:
        """Make a revision's values current again as a new save (source "restore"); returns the
        record as stored afterwards. A stale `base_version` raises ConflictError."""
        check_int("base_version", base_version, 0, MAX_INT32)
        check_text("author", author, 200)
        with self._write() as session:
            revision = self._row(session, FieldRevision, revision_id)
            group = GROUPS[revision.kind][revision.field_group]
            row: Any = self._row(session, group.model, revision.record_id, lock=True)
            values = {name: _plain(revision.values[name]) for name in group.fields if name in revision.values}
            self._save_group(session, group, row, values, base_version, "restore", author)
            return self._record(session, row, group.record)

    # ---- used by the feature mixins ----------------------------------------------------------

    def _versioned_update(self, kind: str, row_id: int, fields: Mapping[str, Any], writable: tuple[str, ...],
                          base_version: int | None, source: str = "user", author: str = "",
                          check: RowCheck | None = None) -> Any:
        """Validate and save `fields` of one record; with a `base_version` they must belong to one
        field group (`version.one_group_per_save` otherwise), whose version must equal it."""
        first = next(iter(field_groups(kind).values()))
        model, record = first.model, first.record
        values = check_fields(model, record, fields, writable)
        self._check_save_args(base_version, source, author)
        parts = _split(kind, values)
        if base_version is not None and len(parts) > 1:
            names = [group.name for group in parts]
            raise ValidationError(f"a save based on a version changes one field group, not {names}",
                                  code="version.one_group_per_save", kind=kind, groups=names)
        with self._write() as session:
            row: Any = self._row(session, model, row_id, lock=True)
            if check is not None:
                check(session, row, values)
            for group, part in parts.items():
                self._save_group(session, group, row, part, base_version, source, author)
            return self._record(session, row, record)

    @staticmethod
    def _check_save_args(base_version: int | None, source: str, author: str) -> None:
        if base_version is not None:
            check_int("base_version", base_version, 0, MAX_INT32)
        check_choice("chapter_revisions", "source", source)
        check_text("author", author, 200)

    def _save_group(self, session: Session, group: FieldGroup, row: Any, part: Mapping[str, Any],
                    base_version: int | None, source: str, author: str) -> None:
        """Inside a write transaction with `row` locked: refuse a stale base, else apply `part`,
        bump the group's version and keep the values (and, on a first save, those replaced)."""
        current = getattr(row, group.version_column)
        if base_version is not None and base_version != current:
            raise self._field_conflict(session, group, row, base_version)
        before = {name: _plain(getattr(row, name)) for name in group.fields}
        after = {**before, **{name: _plain(value) for name, value in part.items()}}
        if _json_equal(before, after):
            return
        project_id = self._owner_project(session, group, row)
        if self._newest_revision(session, group, row.id) is None:
            session.add(FieldRevision(project_id=project_id, kind=group.kind, record_id=row.id,
                                      field_group=group.name, version=current, values=before,
                                      source="original"))
        for name, value in part.items():
            setattr(row, name, value)
        setattr(row, group.version_column, current + 1)
        session.add(FieldRevision(project_id=project_id, kind=group.kind, record_id=row.id,
                                  field_group=group.name, version=current + 1, values=after,
                                  source=source, author=author))
        session.flush()

    @staticmethod
    def _owner_project(session: Session, group: FieldGroup, row: Any) -> int:
        if group.kind == "project":
            return int(row.id)
        if group.kind == "chat_message":
            return int(session.get_one(ChatSession, row.session_id).project_id)
        return int(row.project_id)

    @staticmethod
    def _newest_revision(session: Session, group: FieldGroup, record_id: int) -> FieldRevision | None:
        return session.scalar(select(FieldRevision).where(
            FieldRevision.kind == group.kind, FieldRevision.record_id == record_id,
            FieldRevision.field_group == group.name).order_by(FieldRevision.version.desc()).limit(1))

    def _field_conflict(self, session: Session, group: FieldGroup, row: Any, base_version: int) -> ConflictError:
        current = getattr(row, group.version_column)
        newest = self._newest_revision(session, group, row.id)
        saved_at = newest.created_at if newest is not None else row.updated_at
        facts: dict[str, Any] = dict(
            kind=group.kind, record_id=row.id, field_group=group.name, base_version=base_version,
            current_version=current, current_updated_at=saved_at,
            saved_source=newest.source if newest is not None else "",
            saved_by=newest.author if newest is not None else "",
            chapter_id=row.id if group.kind == "chapter" else None)
        where = f"{NOUNS[group.kind]} {row.id} ({group.name})"
        stamp = saved_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        if base_version > current:
            return ConflictError(f"{where} has no version {base_version}; it is at version {current} "
                                 f"(saved {stamp}). Nothing was saved.", code="conflict.unknown_version",
                                 **facts)
        base = session.scalar(select(FieldRevision.values).where(
            FieldRevision.kind == group.kind, FieldRevision.record_id == row.id,
            FieldRevision.field_group == group.name, FieldRevision.version == base_version)) or {}
        changed, added, removed = _changes(group, base, row)
        return ConflictError(
            f"{where} was saved elsewhere at {stamp} as version {current} (changed: {', '.join(changed)}; "
            f"+{added} / −{removed} characters since your version {base_version}); nothing was saved. "
            "Reload it and apply your edit again.",
            code="conflict.stale", changed_fields=tuple(changed), added=added, removed=removed, **facts)

    @staticmethod
    def _unknown_group(kind: str, name: Any) -> ValidationError:
        names = list(GROUPS[kind])
        return ValidationError(f"a {NOUNS[kind]} has no field group {name!r}; groups: {', '.join(names)}",
                               code="history.unknown_group", kind=kind, group=str(name)[:40], groups=names)


def _changes(group: FieldGroup, base: Mapping[str, Any], row: Any) -> tuple[list[str], int, int]:
    """(fields that differ from `base`, characters added, characters removed) over those fields."""
    changed, added, removed = [], 0, 0
    for name in group.fields:
        now = getattr(row, name)
        then = base.get(name)
        if _json_equal(then, now):
            continue
        changed.append(name)
        before = then if isinstance(then, str) else json.dumps(then, ensure_ascii=False, sort_keys=True)
        after = now if isinstance(now, str) else json.dumps(now, ensure_ascii=False, sort_keys=True)
        plus, minus = change_size(before, after)
        added, removed = added + plus, removed + minus
    return changed, added, removed
