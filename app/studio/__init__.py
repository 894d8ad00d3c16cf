"""Use cases of the studio: the only API the UI calls (records in, records and updates out).

`Studio` composes the store, story memory, prompts and the engine. Streamed use cases return
iterators of `GenerationUpdate` (≈20/s, all branches in each); closing one cancels the engine and
keeps what was streamed. Every failure reaches the caller as a `StudioError` subclass.
"""

from app.studio.core import GenerationUpdate, StudioOptions
from app.studio.diffing import DiffOp
from app.studio.errors import InvalidInput, NoModel, NotFound, SaveConflict, StudioError
from app.studio.polish import polish_presets
from app.studio.studio import Studio

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
    "polish_presets",
]
