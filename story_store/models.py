"""SQLAlchemy 2 ORM models: the schema of the story store.

Owns table definitions only. Invariants:
- every row that a writer can delete carries `deleted_at`; NULL means live, a timestamp means "in the
  trash" (restorable). Hard deletes cascade through `ON DELETE CASCADE`.
- list-like and dict-like fields (aliases, keys, extensions) are JSON columns, so the schema runs on
  SQLite and PostgreSQL alike.
- `Chapter.version` counts saves; a save must name the version it was based on (optimistic locking).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default="zh")  # "zh" | "en"
    genre: Mapped[str] = mapped_column(Text, default="")
    synopsis: Mapped[str] = mapped_column(Text, default="")
    style_guide: Mapped[str] = mapped_column(Text, default="")
    authors_note: Mapped[str] = mapped_column(Text, default="")
    # sampling defaults, lore scan depth / budget / recursion depth, ...
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # optimistic locking of the writer-editable field groups (story_store.versioning)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # details
    settings_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    characters: Mapped[list[Character]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )
    lore_entries: Mapped[list[LoreEntry]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )
    chapters: Mapped[list[Chapter]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Character(Base):
    __tablename__ = "characters"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    personality: Mapped[str] = mapped_column(Text, default="")
    appearance: Mapped[str] = mapped_column(Text, default="")
    background: Mapped[str] = mapped_column(Text, default="")
    speech_style: Mapped[str] = mapped_column(Text, default="")
    greeting: Mapped[str] = mapped_column(Text, default="")
    example_dialogue: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Character-card `extensions`, kept verbatim so a re-export writes back unknown keys.
    extensions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Every other card field we do not map to a column (creator_notes, alternate_greetings, tags,
    # creator, character_version, system_prompt, post_history_instructions, ...), verbatim.
    card_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # optimistic locking of the writer-editable field groups (story_store.versioning)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the sheet

    project: Mapped[Project] = relationship(back_populates="characters")


class LoreEntry(Base):
    """One SillyTavern World Info entry (DESIGN §5)."""

    __tablename__ = "lore_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")  # ST "comment"
    content: Mapped[str] = mapped_column(Text, default="")
    keys: Mapped[list[str]] = mapped_column(default=list)  # plain or "/regex/flags"
    secondary_keys: Mapped[list[str]] = mapped_column(default=list)
    # "and_any" | "and_all" | "not_any" | "not_all"
    selective_logic: Mapped[str] = mapped_column(String(16), default="and_any")
    constant: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    case_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    match_whole_words: Mapped[bool] = mapped_column(Boolean, default=False)
    insertion_order: Mapped[int] = mapped_column(Integer, default=100)  # higher = later
    # "before_char" | "after_char" | "at_depth"
    position: Mapped[str] = mapped_column(String(16), default="before_char")
    depth: Mapped[int] = mapped_column(Integer, default=4)  # used when position == "at_depth"
    probability: Mapped[int] = mapped_column(Integer, default=100)  # percent, 0..100
    scan_depth: Mapped[int | None] = mapped_column(Integer, default=None)  # None = project default
    ignore_budget: Mapped[bool] = mapped_column(Boolean, default=False)
    exclude_recursion: Mapped[bool] = mapped_column(Boolean, default=False)  # not triggered by lore
    prevent_recursion: Mapped[bool] = mapped_column(Boolean, default=False)  # does not trigger lore
    extensions: Mapped[dict[str, Any]] = mapped_column(default=dict)  # unknown ST fields, verbatim
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # optimistic locking of the writer-editable field groups (story_store.versioning)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the entry

    project: Mapped[Project] = relationship(back_populates="lore_entries")


class Chapter(Base):
    __tablename__ = "chapters"
    __table_args__ = (Index("ix_chapters_project_ordinal", "project_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)  # 1-based position in the book
    title: Mapped[str] = mapped_column(String(500), default="")
    outline: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="outline")  # outline|draft|revised|final
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)  # number of saved revisions
    pov_character_id: Mapped[int | None] = mapped_column(
        ForeignKey("characters.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # optimistic locking of the writer-editable field groups (story_store.versioning)
    outline_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    summary_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    meta_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # title/status/POV

    project: Mapped[Project] = relationship(back_populates="chapters")
    revisions: Mapped[list[ChapterRevision]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class ChapterRevision(Base):
    __tablename__ = "chapter_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapters.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # equals Chapter.version after this save
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # user|ai|import|restore
    parent_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("chapter_revisions.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class Passage(Base):
    """A generated or written span; passages form a tree through `parent_id` (branches are siblings)."""

    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    chapter_id: Mapped[int | None] = mapped_column(
        ForeignKey("chapters.id", ondelete="CASCADE"), index=True, default=None
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("passages.id", ondelete="CASCADE"), index=True, default=None
    )
    text: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="ai")  # ai|user|polish|import
    task: Mapped[str] = mapped_column(String(32), default="")  # draft|continue|branch|polish|...
    model_id: Mapped[str] = mapped_column(String(500), default="")
    sampling: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int | None] = mapped_column(BigInteger, default=None)  # 64-bit on PostgreSQL too
    prompt_hash: Mapped[str] = mapped_column(String(64), default="")
    branch_index: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="done")  # streaming|done|cancelled|error
    finish_reason: Mapped[str] = mapped_column(String(16), default="")
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    character_id: Mapped[int | None] = mapped_column(
        ForeignKey("characters.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(500), default="")
    persona_name: Mapped[str] = mapped_column(String(500), default="")
    persona_description: Mapped[str] = mapped_column(Text, default="")
    current_leaf_id: Mapped[int | None] = mapped_column(Integer, default=None)  # shown path's tip
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class ChatMessage(Base):
    """A chat turn; siblings (same parent) are alternatives of each other."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), index=True, default=None
    )
    role: Mapped[str] = mapped_column(String(16))  # user|character|narrator
    speaker: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="done")  # streaming|done|cancelled|error
    seed: Mapped[int | None] = mapped_column(BigInteger, default=None)  # 64-bit on PostgreSQL too
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    # optimistic locking of the writer-editable field groups (story_store.versioning)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # writer edits of text


class Preference(Base):
    """A writer's choice between branches: (prompt, chosen, rejected) for later tuning."""

    __tablename__ = "preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    prompt: Mapped[str] = mapped_column(Text, default="")
    chosen_passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"))
    rejected_passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)



class FieldRevision(Base):
    """One saved value of a writer-editable field group (project details, a character sheet, ...).

    Invariants: (kind, record_id, field_group, version) is unique; `version` equals the record's
    version column for that group after the save; `values` holds every field of the group as it was
    after that save. The first save of a group also stores the values it replaced, as version
    `base` with source "original", so nothing the writer typed is lost.
    """

    __tablename__ = "field_revisions"
    __table_args__ = (
        Index("ix_field_revisions_record", "kind", "record_id", "field_group", "version", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # project|character|lore|chapter|chat_message
    record_id: Mapped[int] = mapped_column(Integer)
    field_group: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(16))  # user|ai|import|restore|original
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class PromptText(Base):
    """Every generation's prompt text, stored once per sha256 hash (passages refer to it by hash)."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class TextPreference(Base):
    """A writer's choice as texts: chosen over rejected for a prompt (polish accept/reject, an
    accepted passage the writer then edited: the edit is chosen over the model's raw text)."""

    __tablename__ = "text_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # polish_accept|polish_reject|edited
    prompt_hash: Mapped[str] = mapped_column(String(64), default="")
    chosen: Mapped[str] = mapped_column(Text, default="")
    rejected: Mapped[str] = mapped_column(Text, default="")
    passage_id: Mapped[int | None] = mapped_column(
        ForeignKey("passages.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


from story_store.continuity_models import ChatCutoff, GlossaryTerm, LoreReveal, StoryFact  # noqa: E402,F401
# The writer's own preferences live in their own module (imported here so the metadata holds them).
from story_store.user_settings import UserSetting  # noqa: E402,F401
