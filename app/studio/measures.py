"""Numbers the desk shows about a generation: the token count of streamed text under the model's own
tokenizer, and how many tokens a task may write (the denominator of the ETA).

Owns nothing else: limits come from the core's rule (`StudioCore.max_new_tokens`, the one the use cases
apply), so the ETA and the run agree.
"""

from __future__ import annotations

from app.studio.core import StudioCore
from app.studio.store_seam import translates_store_errors

POLISH_SLACK_TOKENS = 32  # the polish use case asks for twice its passage plus this


@translates_store_errors
class MeasureService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` under the loaded model's tokenizer (0 for empty text or when no model is loaded)."""
        if not text or self._core.engine.info().kind == "none":
            return 0
        return int(self._core.engine.count_tokens(text))

    def token_limit(self, chapter_id: int, task: str) -> int:
        """The most tokens `task` ("draft", "continue", "branch", "brainstorm", "summary") may write here."""
        _, project = self._core.chapter_and_project(chapter_id)
        return self._core.max_new_tokens(project, task)

    def polish_limit(self, chapter_id: int, text: str) -> int:
        """The most tokens a polish of `text` in this chapter may write."""
        _, project = self._core.chapter_and_project(chapter_id)
        wanted = 2 * self.count_tokens(text) + POLISH_SLACK_TOKENS
        return self._core.max_new_tokens(project, "polish", wanted)
