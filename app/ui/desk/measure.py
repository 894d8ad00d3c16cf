"""The desk's view of the studio's measures (token counts and limits), tolerant of a missing chapter."""

from __future__ import annotations

from typing import Any

from app.studio import StudioError


def tokens(shell: Any, text: str) -> int:
    return shell.studio.measures.count_tokens(text or "")


def limit(shell: Any, chapter_id: int, task: str) -> int:
    try:
        return shell.studio.measures.token_limit(chapter_id, task)
    except StudioError:
        return 0


def polish_limit(shell: Any, chapter_id: int, text: str) -> int:
    try:
        return shell.studio.measures.polish_limit(chapter_id, text or "")
    except StudioError:
        return 0
