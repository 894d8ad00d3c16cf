"""StoreBase: engine, migrations on open, one transaction per public call, shared row helpers.

The feature mixins (content, chapters, passages, chat, search, backup) build on these helpers;
`story_store.store.Store` puts them together. No ORM object leaves a transaction: helpers return
records made by `to_record` after a flush.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from story_store import migrate
from story_store.db import make_engine, writer_engine
from story_store.errors import StoreError
from story_store.fields import NOUNS, check_fields, check_id, not_found
from story_store.models import Project, utc_now
from story_store.records import to_record

R = TypeVar("R")
M = TypeVar("M")
RowCheck = Callable[[Session, Any, Mapping[str, Any]], None]
NOT_EDITABLE = frozenset({"id", "project_id", "created_at", "updated_at", "deleted_at",
                          # versions move only through a save (story_store.versioning)
                          "version", "settings_version", "outline_version", "summary_version",
                          "meta_version"})


def editable_fields(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record) if f.name not in NOT_EDITABLE)


class StoreBase:
    """Owns the engine and the session factories; opening applies pending migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._writer = writer_engine(self._engine)
        try:
            migrate.upgrade(self._writer)
        except (SQLAlchemyError, StoreError) as exc:
            self._engine.dispose()
            if isinstance(exc, StoreError):
                raise
            shown = self._engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot open the story database {shown!r}: {exc}") from exc
        self._read_sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._writer, expire_on_commit=False)
        self.dialect = self._engine.dialect.name
        self._refresh_features()

    def _refresh_features(self) -> None:
        """Note what the schema offers (FTS5 tables exist only on SQLite after migration 0002)."""
        self.has_fts = self.dialect == "sqlite" and sa_inspect(self._engine).has_table("chapters_fts")

    def close(self) -> None:
        """Release every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._translate_errors(), self._read_sessions.begin() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._translate_errors(), self._write_sessions.begin() as session:
            yield session

    @staticmethod
    @contextmanager
    def _translate_errors() -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            raise StoreError("store.db_refused", detail=str(detail)) from exc

    # ---- row helpers (call inside a transaction) -------------------------------------------

    @staticmethod
    def _row(session: Session, model: type[M], row_id: Any, lock: bool = False) -> M:
        """The row with id `row_id` or NotFoundError; `lock` reads it FOR UPDATE where supported."""
        noun = NOUNS[model.__tablename__]  # type: ignore[attr-defined]
        check_id(noun, row_id)  # a whole number in SQLite's range, never coerced
        row = session.get(model, row_id, with_for_update=True if lock else None)
        if row is None:
            raise not_found(model.__tablename__, row_id)  # type: ignore[attr-defined]
        return row

    def _project(self, session: Session, project_id: Any) -> Project:
        return self._row(session, Project, project_id)

    @staticmethod
    def _record(session: Session, row: Any, record: type[R]) -> R:
        session.flush()
        return to_record(row, record)

    def _create(self, model: type, record: type[R], values: Mapping[str, Any]) -> R:
        with self._write() as session:
            if "project_id" in values:
                self._project(session, values["project_id"])
            row = model(**values)
            session.add(row)
            return self._record(session, row, record)

    def _get(self, model: type, record: type[R], row_id: int) -> R:
        with self._read() as session:
            return to_record(self._row(session, model, row_id), record)

    def _update(self, model: type, record: type[R], row_id: int, fields: Mapping[str, Any],
                writable: tuple[str, ...], check: RowCheck | None = None) -> R:
        """Validate and apply `fields`; `check(session, row, values)` vets references first."""
        values = check_fields(model, record, fields, writable)
        with self._write() as session:
            row: Any = self._row(session, model, row_id)
            if check is not None:
                check(session, row, values)
            for name, value in values.items():
                setattr(row, name, value)
            return self._record(session, row, record)

    def _set_deleted(self, model: type, record: type[R], row_id: int, deleted: bool) -> R:
        """Move a row to the trash (deleted=True) or back; repeating either is harmless."""
        with self._write() as session:
            row: Any = self._row(session, model, row_id)
            if deleted and row.deleted_at is None:
                row.deleted_at = utc_now()
            elif not deleted:
                row.deleted_at = None
            return self._record(session, row, record)
