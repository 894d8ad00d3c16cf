"""Continuity: glossary terms, stated story facts, lore reveals and role-play chat cutoffs.

Revision ID: 0003_continuity
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_continuity"
down_revision = "0002_search"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.Column("deleted_at", sa.DateTime(), nullable=True)]


def _project() -> sa.Column:
    return sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "glossary_terms", sa.Column("id", sa.Integer(), primary_key=True), _project(),
        sa.Column("canonical", sa.String(500), nullable=False), sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False), sa.Column("case_sensitive", sa.Boolean(), nullable=False),
        *_stamps())
    op.create_index("ix_glossary_terms_project_id", "glossary_terms", ["project_id"])
    op.create_table(
        "story_facts", sa.Column("id", sa.Integer(), primary_key=True), _project(),
        sa.Column("subject", sa.String(500), nullable=False), sa.Column("attribute", sa.String(200), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False), sa.Column("since_chapter", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False), *_stamps())
    op.create_index("ix_story_facts_project_id", "story_facts", ["project_id"])
    op.create_table(
        "lore_reveals",
        sa.Column("lore_entry_id", sa.Integer(), sa.ForeignKey("lore_entries.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("reveal_chapter", sa.Integer(), nullable=False))
    op.create_table(
        "chat_cutoffs",
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("as_of_chapter", sa.Integer(), nullable=False))


def downgrade() -> None:
    for table in ("chat_cutoffs", "lore_reveals", "story_facts", "glossary_terms"):
        op.drop_table(table)
