"""Alembic environment: runs on the connection handed over by `story_store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "story_store migrations run through story_store.migrate.upgrade(engine), which passes a "
        "connection; offline (SQL script) mode is not supported"
    )
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
