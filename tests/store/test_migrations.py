"""Alembic migrations: an older store upgrades in place; the migrated schema equals the models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from story_store import Store, StoreError
from story_store.migrate import BASELINE_REVISION, current_revision, head_revision, upgrade
from story_store.models import Base

NOW = "2026-01-02 03:04:05.000000"


def _baseline_db(url: str) -> None:
    """A database as the first release left it, with a little data written in raw SQL."""
    engine = create_engine(url)
    upgrade(engine, BASELINE_REVISION)
    assert current_revision(engine) == BASELINE_REVISION
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO projects (title, language, genre, synopsis, style_guide, authors_note, "
            f"settings, created_at, updated_at) VALUES ('旧书', 'zh', '', '', '', '', '{{}}', '{NOW}', '{NOW}')")
        for ordinal, body in ((1, "山门初开，青云门收徒。"), (2, "第二章")):
            connection.exec_driver_sql(
                "INSERT INTO chapters (project_id, ordinal, title, outline, summary, status, text, "
                f"version, created_at, updated_at) VALUES (1, {ordinal}, 'c{ordinal}', '', '', "
                f"'draft', '{body}', 1, '{NOW}', '{NOW}')")
            connection.exec_driver_sql(
                "INSERT INTO chapter_revisions (chapter_id, version, text, source, created_at) "
                f"VALUES ({ordinal}, 1, '{body}', 'user', '{NOW}')")
    engine.dispose()


def test_baseline_store_upgrades_in_place_with_data_intact(store_url: str) -> None:
    _baseline_db(store_url)
    with Store(store_url) as store:
        assert current_revision(store._engine) == head_revision() != BASELINE_REVISION
        [project] = store.list_projects()
        assert project.title == "旧书"
        chapters = store.list_chapters(project.id)
        assert [(c.ordinal, c.text, c.version) for c in chapters] == [
            (1, "山门初开，青云门收徒。", 1), (2, "第二章", 1)]
        # rows written before the FTS tables existed are indexed by the migration
        assert [h.id for h in store.search(project.id, "青云门")] == [chapters[0].id]
        saved = store.save_chapter_text(chapters[0].id, "新稿", 1)
        assert store.list_revisions(saved.id)[0].parent_revision_id is not None
        indexes = {index["name"] for index in inspect(store._engine).get_indexes("chapters")}
    assert "ix_chapters_project_ordinal" in indexes


def test_migrated_schema_matches_the_models(store: Store) -> None:
    def ours(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "table" and name and (name.endswith("_fts") or "_fts_" in name))

    with store._engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": ours, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_reopening_is_a_no_op(store_url: str) -> None:
    with Store(store_url) as first:
        first.create_project("A")
    with Store(store_url) as second:
        assert [p.title for p in second.list_projects()] == ["A"]


def test_database_from_a_newer_release_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}").close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = '9999_future'")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer Inkstone"):
        Store(f"sqlite:///{path}")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("dear diary " * 500)
    with pytest.raises(StoreError, match="cannot open"):
        Store(f"sqlite:///{path}")
    assert path.read_text() == "dear diary " * 500
    with pytest.raises(StoreError, match="not a database URL"):
        Store("not a url")


def test_store_creates_missing_parent_directories(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'a' / 'b' / 'c.db'}") as store:
        store.create_project("A")
    assert (tmp_path / "a" / "b" / "c.db").is_file()


def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StoreError, match="cannot open") as caught:
        Store("postgresql+psycopg://writer:s3cret-pw@127.0.0.1:1/inkstone")
    assert "s3cret-pw" not in str(caught.value) and "***" in str(caught.value)
