"""Errors the Store raises. Two spellings, both data a UI renders in the writer's language (see
`messages.CodedError`): a catalogue code (`ValidationError("store.unknown_fields", ...)`), or an English
sentence with a keyword code (`code="id.out_of_range"`, `conflict.stale`, ...) whose `values` hold only
JSON-friendly data (texts, numbers, lists, datetimes) naming what was wrong. `str(error)` is English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messages import CodedError, Message


class StoreError(CodedError, Exception):
    """Base class of every error the story store raises on purpose."""

    default_code = "store.error"


class NotFoundError(StoreError):
    """The id names no row (or a row of another project)."""

    default_code = "not_found"


class ValidationError(StoreError):
    """Bad input: unknown field, wrong type, value out of range, text too long. Nothing was written."""

    default_code = "invalid"


class ConflictError(StoreError):
    """A save was based on an older version than the stored one; nothing was written.

    Carries the facts a UI needs to explain and resolve the conflict: which record and field group,
    the version the save was based on, the current version, when and by whom (source/author) that
    one was saved, and what changed since the base (`changed_fields`, `added`/`removed` characters).
    `chapter_id` is set for chapter conflicts (text or details) as before.
    """

    default_code = "conflict.stale"

    def __init__(
        self,
        message: str | Message,
        *,
        chapter_id: int | None = None,
        base_version: int | None = None,
        current_version: int | None = None,
        current_updated_at: datetime | None = None,
        code: str | None = None,
        kind: str = "chapter",
        record_id: int | None = None,
        field_group: str = "text",
        saved_source: str = "",
        saved_by: str = "",
        changed_fields: tuple[str, ...] = (),
        added: int = 0,
        removed: int = 0,
        **values: Any,
    ) -> None:
        record = record_id if record_id is not None else chapter_id
        super().__init__(message, code=code, **values, kind=kind, record_id=record, field_group=field_group,
                         base_version=base_version, current_version=current_version,
                         saved_at=current_updated_at, saved_source=saved_source, saved_by=saved_by,
                         changed_fields=list(changed_fields), added=added, removed=removed)
        self.chapter_id = chapter_id
        self.base_version = base_version
        self.current_version = current_version
        self.current_updated_at = current_updated_at
        self.kind = kind
        self.record_id = record
        self.field_group = field_group
        self.saved_source = saved_source
        self.saved_by = saved_by
        self.changed_fields = tuple(changed_fields)
        self.added = added
        self.removed = removed
