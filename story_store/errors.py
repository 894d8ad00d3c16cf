"""Errors the Store raises; every message says what was wrong in words a writer can act on.

Raised with a message code and values (`ValidationError("store.unknown_fields", ...)`, see `messages`):
`str(error)` is English, `error.message` is rendered by the UI in the writer's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messages import CodedError, Message


class StoreError(CodedError, Exception):
    """Base class of every error the story store raises on purpose."""


class NotFoundError(StoreError):
    """The id names no row (or a row of another project)."""


class ValidationError(StoreError):
    """Bad input: unknown field, wrong type, value out of range, text too long. Nothing was written."""


class ConflictError(StoreError):
    """A save was based on an older version than the stored one; nothing was written.

    Carries the facts a UI needs to explain and resolve the conflict.
    """

    def __init__(
        self,
        message: str | Message,
        *,
        chapter_id: int | None = None,
        base_version: int | None = None,
        current_version: int | None = None,
        current_updated_at: datetime | None = None,
        **values: Any,
    ) -> None:
        super().__init__(message, **values)
        self.chapter_id = chapter_id
        self.base_version = base_version
        self.current_version = current_version
        self.current_updated_at = current_updated_at
