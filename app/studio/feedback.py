"""The writer's choices recorded as training preferences (a core module every service may use).

- polish accepted: the accepted text is chosen over the original selection; when the writer edited
  the model's polish before accepting, the edit is also chosen over the raw model text ("edited");
- polish rejected: the original is chosen over the model's polish;
- a passage accepted and then edited: the writer's edit is chosen over the model's text.
Each names the generation's prompt by hash (its text is in the store's prompts table). Identical
texts record nothing (there is no preference between equal texts).
"""

from __future__ import annotations

from app.studio.store_seam import StoryStore
from story_store.records import PassageRecord


def record_polish_accepted(store: StoryStore, passage: PassageRecord, original: str, accepted: str) -> int:
    """Returns the number of preferences recorded (0..2)."""
    recorded = _record(store, passage, "polish_accept", chosen=accepted, rejected=original)
    if passage.text.strip() and accepted != passage.text:
        recorded += _record(store, passage, "edited", chosen=accepted, rejected=passage.text)
    return recorded


def record_polish_rejected(store: StoryStore, passage: PassageRecord, original: str) -> int:
    return _record(store, passage, "polish_reject", chosen=original, rejected=passage.text)


def record_edited(store: StoryStore, passage: PassageRecord, edited: str) -> int:
    return _record(store, passage, "edited", chosen=edited, rejected=passage.text)


def _record(store: StoryStore, passage: PassageRecord, kind: str, *, chosen: str, rejected: str) -> int:
    if chosen == rejected or not chosen.strip() or not rejected.strip():
        return 0
    store.record_text_preference(passage.project_id, kind, chosen, rejected, prompt_hash=passage.prompt_hash,
                                 passage_id=passage.id)
    return 1
