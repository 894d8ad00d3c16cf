"""Text generation: the Engine protocol and its implementations (tokens and text only)."""

from app.engine.types import (
    MAX_BRANCHES,
    BranchResult,
    Chunk,
    Done,
    Engine,
    EngineError,
    EngineInfo,
    EngineUnavailable,
    Event,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    generate,
)

__all__ = [
    "MAX_BRANCHES",
    "BranchResult",
    "Chunk",
    "Done",
    "Engine",
    "EngineError",
    "EngineInfo",
    "EngineUnavailable",
    "Event",
    "FinishReason",
    "GenerationRequest",
    "SamplingParams",
    "generate",
]
