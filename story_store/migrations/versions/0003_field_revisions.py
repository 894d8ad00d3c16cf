"""Field revisions: versions for every writer-editable field group and a history table.

Adds a version column per field group (project details and settings, character sheet, lore entry,
chapter outline / summary / title-status-POV, chat message text), all starting at 0, and the
`field_revisions` table that keeps every saved value (see story_store.versioning). Additive only:
no existing column or row changes.

Revision ID: 0003_field_revisions
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_field_revisions"
down_revision = "0003_continuity"
branch_labels = None
depends_on = None

# table -> version columns added to it
VERSION_COLUMNS = {
    "projects": ("version", "settings_version"),
    "characters": ("version",),
    "lore_entries": ("version",),
    "chapters": ("outline_version", "summary_version", "meta_version"),
    "chat_messages": ("version",),
}


def upgrade() -> None:
    for table, columns in VERSION_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "field_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field_group", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_field_revisions_project_id", "field_revisions", ["project_id"])
    op.create_index("ix_field_revisions_record", "field_revisions",
                    ["kind", "record_id", "field_group", "version"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_field_revisions_record", table_name="field_revisions")
    op.drop_index("ix_field_revisions_project_id", table_name="field_revisions")
    op.drop_table("field_revisions")
    for table, columns in VERSION_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
