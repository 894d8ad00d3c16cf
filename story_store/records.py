"""Plain, immutable records that the Store returns; no SQLAlchemy session ever leaks out.

Each record mirrors one ORM model column for column, so `to_record` can copy them generically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    title: str
    language: str
    genre: str
    synopsis: str
    style_guide: str
    authors_note: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class CharacterRecord:
    id: int
    project_id: int
    name: str
    aliases: list[str]
    description: str
    personality: str
    appearance: str
    background: str
    speech_style: str
    greeting: str
    example_dialogue: str
    scenario: str
    pinned: bool
    extensions: dict[str, Any]
    card_data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class LoreEntryRecord:
    id: int
    project_id: int
    title: str
    content: str
    keys: list[str]
    secondary_keys: list[str]
    selective_logic: str
    constant: bool
    enabled: bool
    case_sensitive: bool
    match_whole_words: bool
    insertion_order: int
    position: str
    depth: int
    probability: int
    scan_depth: int | None
    ignore_budget: bool
    exclude_recursion: bool
    prevent_recursion: bool
    extensions: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class ChapterRecord:
    id: int
    project_id: int
    ordinal: int
    title: str
    outline: str
    summary: str
    status: str
    text: str
    version: int
    pov_character_id: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class RevisionRecord:
    id: int
    chapter_id: int
    version: int
    text: str
    source: str
    parent_revision_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class PassageRecord:
    id: int
    project_id: int
    chapter_id: int | None
    parent_id: int | None
    text: str
    origin: str
    task: str
    model_id: str
    sampling: dict[str, Any]
    seed: int | None
    prompt_hash: str
    branch_index: int
    status: str
    finish_reason: str
    accepted: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ChatSessionRecord:
    id: int
    project_id: int
    character_id: int | None
    title: str
    persona_name: str
    persona_description: str
    current_leaf_id: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class ChatMessageRecord:
    id: int
    session_id: int
    parent_id: int | None
    role: str
    speaker: str
    text: str
    status: str
    seed: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PreferenceRecord:
    id: int
    project_id: int
    prompt: str
    chosen_passage_id: int
    rejected_passage_id: int
    created_at: datetime


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "chapter" | "passage"
    id: int
    project_id: int
    chapter_id: int | None
    title: str
    snippet: str


@dataclass(frozen=True)
class TrashItem:
    kind: str  # "project" | "character" | "lore" | "chapter" | "chat"
    id: int
    project_id: int | None
    label: str
    deleted_at: datetime


@dataclass(frozen=True)
class BackupInfo:
    path: str
    size_bytes: int
    created_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


def to_record(row: Any, record_type: type[R]) -> R:
    """Copy the columns named by `record_type`'s fields off an ORM row (JSON values deep-copied)."""
    values = {}
    for f in dataclasses.fields(record_type):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        if isinstance(value, (list, dict)):
            value = _deep_copy_json(value)
        values[f.name] = value
    return record_type(**values)


def _deep_copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy_json(v) for v in value]
    return value


# The stages a chapter goes through, in order (the one definition: the store validates against it).
CHAPTER_STATUSES = ("outline", "draft", "revised", "final")
