"""Numbers the desk shows about a generation: the token count of streamed text under the model's own
tokenizer, and how many tokens a task may write (the ETA's denominator).

Owns nothing else; counting goes through the core's token cache (each distinct text counted once).
"""

from __future__ import annotations

from typing import Any

from app.studio.counting import TextCount, count_text

POLISH_SLACK_TOKENS = 32  # mirrors the polish use case: a polish may write twice its passage, plus this


class MeasureService:
    def __init__(self, core: Any) -> None:
        self._core = core

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` under the loaded model's tokenizer (0 for empty text or no model)."""
        if not text:
            return 0
        try:
            return int(self._core.engine.count_tokens(text))
        except Exception:  # no model loaded: nothing to count with, and nothing is generating
            return 0

    def token_limit(self, chapter_id: int, task: str) -> int:
        """The most tokens `task` may write for this chapter (the project's setting, capped by the model)."""
        chapter = self._core.store.get_chapter(chapter_id)
        project = self._core.store.get_project(chapter.project_id)
        return int(self._core.max_new_tokens(project, task))

    def polish_limit(self, text: str) -> int:
        context = self._core.engine.info().context_length
        return max(1, min(2 * self.count_tokens(text) + POLISH_SLACK_TOKENS, context // 2))

    @staticmethod
    def count_text(text: str) -> TextCount:
        """字数 / words of `text` (see app.studio.counting)."""
        return count_text(text)
