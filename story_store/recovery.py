"""Recovery after a crash: text a dead process was still streaming becomes `interrupted`.

Invariant: called once when a studio process starts, before it streams anything, so every row still
`streaming` was left by a process that died mid-stream (one studio process per database). The rows
keep their text (everything persisted before the crash), are labelled `interrupted` and can be
accepted like any finished passage; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, case, update

from story_store.base import StoreBase
from story_store.models import ChatMessage, Passage, utc_now

INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Recovered:
    passages: int  # passages marked interrupted
    messages: int  # chat messages marked interrupted


class RecoveryMixin(StoreBase):
    def mark_interrupted(self) -> Recovered:
        """Every passage and chat message left `streaming` → `interrupted` (one transaction)."""
        now = utc_now()
        reason = case((Passage.finish_reason == "", INTERRUPTED), else_=Passage.finish_reason)
        with self._write() as session:
            passage_result = cast(CursorResult[Any], session.execute(
                update(Passage).where(Passage.status == "streaming")
                .values(status=INTERRUPTED, finish_reason=reason, updated_at=now)
                .execution_options(synchronize_session=False)))
            message_result = cast(CursorResult[Any], session.execute(
                update(ChatMessage).where(ChatMessage.status == "streaming")
                .values(status=INTERRUPTED, updated_at=now).execution_options(synchronize_session=False)))
            return Recovered(passages=passage_result.rowcount, messages=message_result.rowcount)
