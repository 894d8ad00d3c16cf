"""Search and ordering: an index for chapter order and, on SQLite, FTS5 trigram indexes.

The FTS5 tables are external-content indexes over `chapters` (title, text) and `passages` (text),
kept in sync by triggers and rebuilt here from the rows already stored. Other dialects get only
the index; search falls back to LIKE/ILIKE there.

Revision ID: 0002_search
Revises: 0001_baseline
"""

from __future__ import annotations

from alembic import op

revision = "0002_search"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

# table -> indexed columns; the FTS table is f"{table}_fts", its rowid is the row's id.
FTS_TABLES = {"chapters": ("title", "text"), "passages": ("text",)}
# While this one-row table holds a row, inserting passages does not index them one by one: a bulk
# insert fills the row, inserts, indexes the new rows with one INSERT ... SELECT and empties it,
# all in one transaction. (Row-by-row indexing from a trigger is ~6x slower: FTS5 flushes its
# pending terms at every trigger's statement savepoint.)
PAUSE_TABLE = "passages_fts_paused"


def upgrade() -> None:
    op.create_index("ix_chapters_project_ordinal", "chapters", ["project_id", "ordinal"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TABLE {PAUSE_TABLE} (id INTEGER PRIMARY KEY)")
        for table, columns in FTS_TABLES.items():
            _create_fts(table, columns)


def _create_fts(table: str, columns: tuple[str, ...]) -> None:
    fts = f"{table}_fts"
    names = ", ".join(columns)
    new_values = ", ".join(f"new.{c}" for c in columns)
    old_values = ", ".join(f"old.{c}" for c in columns)
    remove_old = (
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old_values});"
    )
    add_new = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new_values});"
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
        f"content_rowid='id', tokenize='trigram')"
    )
    paused = f"WHEN NOT EXISTS (SELECT 1 FROM {PAUSE_TABLE}) " if table == "passages" else ""
    op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} {paused}BEGIN {add_new} END")
    op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {remove_old} END")
    op.execute(
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {remove_old} {add_new} END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in FTS_TABLES:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        op.execute(f"DROP TABLE IF EXISTS {PAUSE_TABLE}")
    op.drop_index("ix_chapters_project_ordinal", table_name="chapters")
