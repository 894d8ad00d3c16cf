"""The writer's own preferences (interface language, last place): one `user_settings` table.

Revision ID: 0003_user_settings
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_user_settings"
down_revision = "0003_learning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_settings")
