"""Errors the studio shows to the writer: every failure below the studio becomes one of these.

Invariant: a `StudioError` message is written for a human (what went wrong, what was kept, what to
do next); no traceback, SQL or tensor detail ever needs to reach the UI.
"""

from __future__ import annotations


class StudioError(Exception):
    """A use case could not be carried out; `str(error)` is the message for the writer.

    `code` and `values` (when set, e.g. from a store error) name the refusal as data, so the UI can
    render it in the writer's language (`app.ui` string key "err_" + code)."""

    def __init__(self, message: str = "", *, code: str = "", **values: object) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


class InvalidInput(StudioError):
    """The writer's input (a field, a file, a name) was refused; nothing was changed."""


class NotFound(InvalidInput):
    """The project, chapter, character, passage or message no longer exists (or is in the trash)."""


class SaveConflict(StudioError):
    """Another tab saved first; the stale save was refused and nothing was overwritten."""

    def __init__(self, message: str, *, chapter_id: int | None = None, current_version: int | None = None,
                 code: str = "conflict.stale", **values: object):
        super().__init__(message, code=code, **{**values, "current_version": current_version})
        self.chapter_id = chapter_id
        self.current_version = current_version


class NoModel(StudioError):
    """No model is loaded or the generation server cannot be reached; the message names the ways out."""
