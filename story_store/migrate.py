"""Alembic migrations applied through the API (no alembic.ini at runtime).

`upgrade(engine)` brings any store database to the newest schema inside one transaction; the
scripts live in `story_store/migrations` and never import `models.py`, so history stays stable.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine

from story_store.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001_baseline"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "story_store/migrations holds no revision"
    return head


def known_revisions() -> set[str]:
    """Every revision this version of Inkstone can migrate from."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction (all or nothing on PostgreSQL/SQLite)."""
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    except CommandError as exc:
        raise StoreError(
            f"cannot migrate the story database to {revision!r}: {exc}. "
            "It may have been written by a newer Inkstone; open it with that version."
        ) from exc
