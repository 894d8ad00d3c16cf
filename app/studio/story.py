"""Rules about story passages that several services share (writing, branches, the UI's preview).

Invariant: `join_passage` is the only way a passage's text is joined to a chapter, so what the UI
previews while streaming is exactly what the studio saves.
"""

from __future__ import annotations

from story_store.records import PassageRecord

STORY_TASKS = ("draft", "continue", "branch")  # passages whose text belongs in the chapter


def join_passage(chapter_text: str, passage_text: str, task: str) -> str:
    """The chapter text with a passage appended: a draft starts a new paragraph, the rest continue."""
    if not chapter_text.strip():
        return passage_text.lstrip("\n")
    if task == "draft" and not chapter_text.endswith("\n") and not passage_text.startswith("\n"):
        return f"{chapter_text}\n\n{passage_text}"
    return chapter_text + passage_text


def latest_accepted(passages: list[PassageRecord]) -> PassageRecord | None:
    """The passage the story currently continues from (most recently accepted story passage)."""
    accepted = [p for p in passages if p.accepted and p.task in STORY_TASKS]
    return max(accepted, key=lambda p: (p.updated_at, p.id), default=None)
