"""ORM models for the continuity checker's own data: glossary terms, stated facts, lore reveals, chat cutoffs.

Owns four tables (migration 0003_continuity). Invariants: glossary terms and facts carry `deleted_at`
(the trash, like characters); `since_chapter` / `reveal_chapter` are 1-based chapter ordinals (None:
from the start); a lore reveal and a chat cutoff are one row per lore entry / chat session, deleted
with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from story_store.fields import NOUNS, RANGES
from story_store.models import Base, utc_now

MAX_CHAPTER = 100_000


class GlossaryTerm(Base):
    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    canonical: Mapped[str] = mapped_column(String(500))
    variants: Mapped[list[str]] = mapped_column(default=list)  # known wrong spellings
    note: Mapped[str] = mapped_column(Text, default="")
    case_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class StoryFact(Base):
    """`subject · attribute · value (since chapter N)`; attribute "rank_scale" holds a ladder `a < b < c`."""

    __tablename__ = "story_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    attribute: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(2000))
    since_chapter: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class LoreReveal(Base):
    """A lore entry the story reveals only at `reveal_chapter` (role-play before it must not know it)."""

    __tablename__ = "lore_reveals"

    lore_entry_id: Mapped[int] = mapped_column(ForeignKey("lore_entries.id", ondelete="CASCADE"), primary_key=True)
    reveal_chapter: Mapped[int] = mapped_column(Integer)


class ChatCutoff(Base):
    """A role-play chat set "as of chapter N": its memory holds only what the story knows by then."""

    __tablename__ = "chat_cutoffs"

    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True)
    as_of_chapter: Mapped[int] = mapped_column(Integer)


NOUNS.update({"glossary_terms": "glossary term", "story_facts": "story fact", "lore_reveals": "lore reveal",
              "chat_cutoffs": "chat cutoff"})
RANGES.update({("story_facts", "since_chapter"): (1, MAX_CHAPTER)})
