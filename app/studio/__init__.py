"""Use cases of the studio: the only API the UI calls (records in, records and handles out).

`Studio` holds one service per concept (library, chapters, settings, writing, branches, polish,
roleplay, exchange) over one `StudioCore`. Streamed use cases return a `Generation` handle: its
`run_id` and records exist at once; `updates()` yields `GenerationUpdate`s (≈20/s, all branches in
each); `stop()` ends it with a final "cancelled" update whose finishing step still runs (draft/continue
add the streamed text to the chapter); `abandon()` (or closing the iterator) cancels the engine and keeps
what was streamed in its records, leaving the chapter untouched. Every failure reaches the caller as a
`StudioError` subclass.
"""

from app.studio.changes import Piece, apply_changes, change_numbers, review_changes
from app.studio.core import StudioOptions
from app.studio.counting import count_text
from app.studio.diffing import DiffOp
from app.studio.errors import InvalidInput, NoModel, NotFound, SaveConflict, StudioError
from app.studio.generation import Generation, GenerationUpdate
from app.studio.polish import polish_presets
from app.studio.store_seam import StoryStore
from app.studio.story import join_passage
from app.studio.studio import Studio
from story_store.records import CHAPTER_STATUSES

__all__ = [
    "CHAPTER_STATUSES",
    "DiffOp",
    "Generation",
    "GenerationUpdate",
    "InvalidInput",
    "NoModel",
    "NotFound",
    "Piece",
    "SaveConflict",
    "StoryStore",
    "Studio",
    "StudioError",
    "StudioOptions",
    "apply_changes",
    "change_numbers",
    "count_text",
    "join_passage",
    "polish_presets",
    "review_changes",
]
