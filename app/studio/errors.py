"""Errors the studio shows to the writer: every failure below the studio becomes one of these.

Invariant: a `StudioError` message is written for a human (what went wrong, what was kept, what to
do next); no traceback, SQL or tensor detail ever needs to reach the UI.
"""

from __future__ import annotations

from typing import Any

from messages import CodedError, Message


class StudioError(CodedError, Exception):
    """A use case could not be carried out. Raised with a code and values (`StudioError("polish.cut_short",
    reason=...)`, see `messages`): `error.message` is rendered in the writer's language by the UI,
    `str(error)` is the English rendering (logs, tests)."""


class InvalidInput(StudioError):
    """The writer's input (a field, a file, a name) was refused; nothing was changed."""


class NotFound(InvalidInput):
    """The project, chapter, character, passage or message no longer exists (or is in the trash)."""


class SaveConflict(StudioError):
    """Another tab saved first; the stale save was refused and nothing was overwritten."""

    def __init__(self, message: str | Message, *, chapter_id: int | None = None, current_version: int | None = None,
                 base_version: int | None = None, code: str | None = None, **values: Any):
        super().__init__(message, code=code, **{**values, "current_version": current_version,
                                                "base_version": base_version})
        self.base_version = base_version
        self.chapter_id = chapter_id
        self.current_version = current_version


class NoModel(StudioError):
    """No model is loaded or the generation server cannot be reached; the message names the ways out."""


def message_of(exc: BaseException) -> Message | str:
    """What an error says, as a Message when it was raised with a code (else its text)."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, (Message, str)) and message else str(exc)
