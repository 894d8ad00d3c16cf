"""Store fixtures: every `store` test runs on a real SQLite file and, when a server is given, on
PostgreSQL too (INKSTONE_TEST_PG_URL, e.g. postgresql+psycopg://user@127.0.0.1:5432/db; the
psycopg driver is in requirements-dev.txt).

Each PostgreSQL test gets a schema of its own (dropped afterwards), so the database named by the
URL is never touched outside that schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from story_store import Store

PG_ENV = "INKSTONE_TEST_PG_URL"
PG_SKIP_REASON = (
    f"PostgreSQL run skipped: {PG_ENV} is not set (set it to e.g. "
    "postgresql+psycopg://user@127.0.0.1:5432/dbname to run every store test on PostgreSQL)"
)


def sqlite_url(folder: Path, name: str = "inkstone.db") -> str:
    return f"sqlite:///{folder / name}"


# PostgreSQL joins the parameters only when a server is named; test_postgres.py then says why not.
BACKENDS = ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@contextmanager
def backend_url(backend: str, folder: Path) -> Iterator[str]:
    """A URL for an empty store on `backend` (SQLite file in `folder`, or a private PG schema)."""
    if backend == "sqlite":
        yield sqlite_url(folder)
        return
    with pg_schema_url(os.environ[PG_ENV]) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[str]:
    """Like `store_url`, shared by one test module (for expensive fills)."""
    with backend_url(request.param, tmp_path_factory.mktemp("store")) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture()
def pg_store_url() -> Iterator[str]:
    """A private PostgreSQL schema, or a skip that says how to get one."""
    if not os.environ.get(PG_ENV):
        pytest.skip(PG_SKIP_REASON)
    with backend_url("postgresql", Path()) as url:
        yield url


@pytest.fixture()
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """For behaviour that exists only on SQLite (backups, FTS5, raw file checks)."""
    s = Store(sqlite_url(tmp_path))
    yield s
    s.close()


class pg_schema_url:  # noqa: N801 - used as a context manager, reads like a function
    """A URL whose connections use a fresh, private schema; the schema is dropped on exit."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.schema = f"inkstone_test_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base_url)

    def __enter__(self) -> str:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        url = make_url(self.base_url).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.admin.dispose()
