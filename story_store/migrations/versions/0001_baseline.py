"""Baseline: the first schema of the story store (all tables as first released).

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _fk(name: str, target: str, ondelete: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _short(name: str, length: int = 500) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON(), nullable=False)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _stamps(trash: bool) -> list[sa.Column]:
    columns = [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]
    if trash:
        columns.append(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    return columns


def _index(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    _create_project_tables()
    _create_chapter_tables()
    _create_passage_tables()
    _create_chat_tables()


def _create_project_tables() -> None:
    op.create_table(
        "projects", _id(), _short("title"), _short("language", 8),
        _text("genre"), _text("synopsis"), _text("style_guide"), _text("authors_note"),
        _json("settings"), *_stamps(trash=True),
    )
    op.create_table(
        "characters", _id(), _fk("project_id", "projects.id", "CASCADE"), _short("name"),
        _json("aliases"), _text("description"), _text("personality"), _text("appearance"),
        _text("background"), _text("speech_style"), _text("greeting"), _text("example_dialogue"),
        _text("scenario"), _flag("pinned"), _json("extensions"), _json("card_data"),
        *_stamps(trash=True),
    )
    _index("characters", "project_id")
    op.create_table(
        "lore_entries", _id(), _fk("project_id", "projects.id", "CASCADE"), _short("title"),
        _text("content"), _json("keys"), _json("secondary_keys"), _short("selective_logic", 16),
        _flag("constant"), _flag("enabled"), _flag("case_sensitive"), _flag("match_whole_words"),
        _int("insertion_order"), _short("position", 16), _int("depth"), _int("probability"),
        _int("scan_depth", nullable=True), _flag("ignore_budget"), _flag("exclude_recursion"),
        _flag("prevent_recursion"), _json("extensions"), *_stamps(trash=True),
    )
    _index("lore_entries", "project_id")


def _create_chapter_tables() -> None:
    op.create_table(
        "chapters", _id(), _fk("project_id", "projects.id", "CASCADE"), _int("ordinal"),
        _short("title"), _text("outline"), _text("summary"), _short("status", 16), _text("text"),
        _int("version"), _fk("pov_character_id", "characters.id", "SET NULL", nullable=True),
        *_stamps(trash=True),
    )
    _index("chapters", "project_id")
    op.create_table(
        "chapter_revisions", _id(), _fk("chapter_id", "chapters.id", "CASCADE"), _int("version"),
        _text("text"), _short("source", 16),
        _fk("parent_revision_id", "chapter_revisions.id", "SET NULL", nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    _index("chapter_revisions", "chapter_id")


def _create_passage_tables() -> None:
    op.create_table(
        "passages", _id(), _fk("project_id", "projects.id", "CASCADE"),
        _fk("chapter_id", "chapters.id", "CASCADE", nullable=True),
        _fk("parent_id", "passages.id", "CASCADE", nullable=True),
        _text("text"), _short("origin", 16), _short("task", 32), _short("model_id"),
        _json("sampling"), sa.Column("seed", sa.BigInteger(), nullable=True), _short("prompt_hash", 64),
        _int("branch_index"), _short("status", 16), _short("finish_reason", 16), _flag("accepted"),
        *_stamps(trash=False),
    )
    for column in ("project_id", "chapter_id", "parent_id"):
        _index("passages", column)
    op.create_table(
        "preferences", _id(), _fk("project_id", "projects.id", "CASCADE"), _text("prompt"),
        _fk("chosen_passage_id", "passages.id", "CASCADE"),
        _fk("rejected_passage_id", "passages.id", "CASCADE"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    _index("preferences", "project_id")


def _create_chat_tables() -> None:
    op.create_table(
        "chat_sessions", _id(), _fk("project_id", "projects.id", "CASCADE"),
        _fk("character_id", "characters.id", "SET NULL", nullable=True), _short("title"),
        _short("persona_name"), _text("persona_description"), _int("current_leaf_id", nullable=True),
        *_stamps(trash=True),
    )
    _index("chat_sessions", "project_id")
    op.create_table(
        "chat_messages", _id(), _fk("session_id", "chat_sessions.id", "CASCADE"),
        _fk("parent_id", "chat_messages.id", "CASCADE", nullable=True), _short("role", 16),
        _short("speaker"), _text("text"), _short("status", 16), sa.Column("seed", sa.BigInteger(), nullable=True),
        *_stamps(trash=False),
    )
    for column in ("session_id", "parent_id"):
        _index("chat_messages", column)


def downgrade() -> None:
    for table in (
        "chat_messages", "chat_sessions", "preferences", "passages", "chapter_revisions",
        "chapters", "lore_entries", "characters", "projects",
    ):
        op.drop_table(table)
