"""PostgreSQL specifics. Every `store` test also runs there when INKSTONE_TEST_PG_URL is set;
without it this file reports one skip that says so."""

from __future__ import annotations

import pytest

from story_store import ConflictError, Store, StoreError


def test_postgresql_store(pg_store_url: str) -> None:
    with Store(pg_store_url) as store, Store(pg_store_url) as other_process:
        assert store.dialect == "postgresql" and not store.has_fts
        project = store.create_project("团队服务器")
        passage = store.create_passage(project.id, seed=2**62, text="x")
        assert other_process.get_passage(passage.id).seed == 2**62  # BIGINT, not INT4
        chapter = store.create_chapter(project.id, "c", text="v1")
        other_process.save_chapter_text(chapter.id, "v2 from the other server", 1)
        with pytest.raises(ConflictError):
            store.save_chapter_text(chapter.id, "stale", 1)
        assert store.get_chapter(chapter.id).text == "v2 from the other server"
        assert [h.id for h in store.search(project.id, "OTHER server")] == [chapter.id]
        with pytest.raises(StoreError, match="pg_dump"):
            store.backup_now("unused-folder")
