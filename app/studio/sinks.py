"""Where streamed text is persisted: passages (writing, branches, polish, summaries) or a chat reply.

Invariant: a sink writes only what changed since its last write, so the ≥1/s persistence while
streaming stays cheap; the final write always carries the status for the finish reason.
"""

from __future__ import annotations

from app.studio.runs import STATUS_FOR_REASON
from app.studio.store_seam import StoryStore


class PassageSink:
    """Streams branch i into passage `passage_ids[i]` (store.update_passage)."""

    def __init__(self, store: StoryStore, passage_ids: tuple[int, ...]) -> None:
        self._store = store
        self._passage_ids = passage_ids
        self._saved = [""] * len(passage_ids)

    def save_partial(self, texts: tuple[str, ...]) -> None:
        for index, (passage_id, text) in enumerate(zip(self._passage_ids, texts)):
            if text != self._saved[index]:
                self._store.update_passage(passage_id, text=text)
                self._saved[index] = text

    def save_final(self, texts: tuple[str, ...], reasons: tuple[str, ...]) -> None:
        for index, (passage_id, text, reason) in enumerate(zip(self._passage_ids, texts, reasons)):
            self._store.update_passage(passage_id, text=text, status=STATUS_FOR_REASON[reason], finish_reason=reason)
            self._saved[index] = text


class ChatReplySink:
    """Streams the single branch into one chat message (store.update_chat_message)."""

    def __init__(self, store: StoryStore, message_id: int) -> None:
        self._store = store
        self._message_id = message_id
        self._saved = ""

    def save_partial(self, texts: tuple[str, ...]) -> None:
        text = texts[0].lstrip()
        if text != self._saved:
            self._store.update_chat_message(self._message_id, text=text)
            self._saved = text

    def save_final(self, texts: tuple[str, ...], reasons: tuple[str, ...]) -> None:
        text = texts[0].strip()
        self._store.update_chat_message(self._message_id, text=text, status=STATUS_FOR_REASON[reasons[0]])
        self._saved = text
