"""Learning data: prompt texts kept by hash (so preferences keep their prompt across restarts)
and text preferences (polish accept/reject, accepted-then-edited passages).

Revision ID: 0003_learning
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_learning"
down_revision = "0003_field_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "text_preferences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("prompt_hash", sa.String(64), nullable=False),
        sa.Column("chosen", sa.Text(), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=False),
        sa.Column("passage_id", sa.Integer(), sa.ForeignKey("passages.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_text_preferences_project_id", "text_preferences", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_text_preferences_project_id", "text_preferences")
    op.drop_table("text_preferences")
    op.drop_table("prompts")
