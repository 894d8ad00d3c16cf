"""Use cases of the studio: the only API the UI calls (records in, records and updates out).

`Studio` composes the store, story memory, prompts and the engine. Streamed use cases return
iterators of `GenerationUpdate` (≈20/s, all branches in each, each with its `run_id`).
`Studio.cancel(run_id)` ends that run with a final "cancelled" update whose finishing step still runs
(draft/continue add the streamed text to the chapter); closing the generator instead cancels the
engine and keeps what was streamed in its passage, leaving the chapter untouched. Every failure reaches the caller as a `StudioError` subclass.
"""

from app.studio.core import GenerationUpdate, StudioOptions
from app.studio.diffing import DiffOp
from app.studio.errors import InvalidInput, NoModel, NotFound, SaveConflict, StudioError
from app.studio.polish import polish_presets
from app.studio.studio import Studio
from app.studio.writing import join_passage

__all__ = [
    "DiffOp",
    "GenerationUpdate",
    "InvalidInput",
    "NoModel",
    "NotFound",
    "SaveConflict",
    "Studio",
    "StudioError",
    "StudioOptions",
    "join_passage",
    "polish_presets",
]
