"""Engine construction: URL checks, SQLite pragmas and transaction begin modes.

Invariants:
- every SQLite connection runs with WAL, foreign_keys=ON, synchronous=NORMAL, busy_timeout=5000;
- SQLite transactions are begun by us (the driver's implicit BEGIN is switched off), so a read-then-write
  transaction sees one snapshot; engines made by `writer_engine` begin with BEGIN IMMEDIATE, taking the
  write lock up front so two writers queue on busy_timeout instead of failing with SQLITE_BUSY_SNAPSHOT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from story_store.errors import StoreError

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)
WRITE_OPTION = "inkstone_write"


def parse_url(url: str) -> URL:
    if not isinstance(url, str) or not url.strip():
        raise StoreError("database URL is empty; pass e.g. 'sqlite:////path/to/inkstone.db'")
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from exc


def sqlite_file(url: URL) -> Path | None:
    """The database file of a file-backed SQLite URL, else None (memory DB or another dialect)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url_text: str) -> Engine:
    url = parse_url(url_text)
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, json_serializer=_json_dumps)
    except Exception as exc:  # missing driver, bad option: say which URL failed
        raise StoreError(f"cannot open database {url.render_as_string()!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def writer_engine(engine: Engine) -> Engine:
    """The same pool, but transactions that take the write lock when they begin (SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
