"""Online backups on real SQLite files: content round trip, rotation, bad files, scheduler."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from story_store import BackupScheduler, Store, StoreError, ValidationError


def _snapshot(store: Store) -> dict:
    """Everything a writer would miss, as plain data (timestamps included)."""
    snap: dict = {"projects": store.list_projects(include_deleted=True)}
    for project in snap["projects"]:
        chapters = store.list_chapters(project.id, include_deleted=True)
        snap[project.id] = dict(
            characters=store.list_characters(project.id, include_deleted=True),
            lore=store.list_lore_entries(project.id, include_deleted=True),
            chapters=chapters, revisions=[store.list_revisions(c.id) for c in chapters],
            passages=store.list_passages(project.id),
            preferences=store.list_preferences(project.id),
            chats=[(s, store.list_chat_messages(s.id))
                   for s in store.list_chat_sessions(project.id, include_deleted=True)])
    return snap


def _fill(store: Store) -> int:
    project = store.create_project("备份测试", settings={"k": "值"})
    store.create_character(project.id, "林风", aliases=["小林"])
    store.create_lore_entry(project.id, title="灵石", keys=["灵石"])
    chapter = store.create_chapter(project.id, "一", text="第一稿")
    store.save_chapter_text(chapter.id, "第二稿", 1)
    first = store.create_passage(project.id, chapter_id=chapter.id, text="甲")
    second = store.create_passage(project.id, parent_id=first.id, text="乙")
    store.record_preference(project.id, "p", first.id, second.id)
    chat = store.create_chat_session(project.id)
    store.add_chat_message(chat.id, None, "user", "我", "你好")
    return project.id


def test_backup_then_restore_yields_identical_content(sqlite_store: Store, tmp_path: Path) -> None:
    project_id = _fill(sqlite_store)
    before = _snapshot(sqlite_store)
    info = sqlite_store.backup_now(tmp_path / "backups")
    assert Path(info.path).is_file() and info.size_bytes > 0
    # change everything in some way after the backup
    chapter = sqlite_store.list_chapters(project_id)[0]
    sqlite_store.save_chapter_text(chapter.id, "第三稿", chapter.version)
    sqlite_store.create_project("after the backup")
    sqlite_store.delete_project(project_id)
    sqlite_store.purge_project(project_id)
    restored = sqlite_store.restore_backup(info.path)
    assert _snapshot(sqlite_store) == before
    assert [h.kind for h in sqlite_store.search(project_id, "第二稿")] == ["chapter"]  # FTS is back
    safety = Path(restored.extra["safety_backup"])
    with Store(f"sqlite:///{safety}") as copy:  # the pre-restore content was kept
        assert [p.title for p in copy.list_projects()] == ["after the backup"]
    new = sqlite_store.create_project("still writable")
    assert sqlite_store.get_project(new.id).title == "still writable"


def test_backup_file_is_self_contained(sqlite_store: Store, tmp_path: Path) -> None:
    _fill(sqlite_store)
    info = sqlite_store.backup_now(tmp_path)
    raw = sqlite3.connect(info.path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert raw.execute("SELECT count(*) FROM chapter_revisions").fetchone()[0] == 2
    raw.close()
    assert not list(tmp_path.glob("*.partial"))


def test_rotation_keeps_newest(sqlite_store: Store, tmp_path: Path) -> None:
    _fill(sqlite_store)
    (tmp_path / "notes.txt").write_text("not a backup")
    made = [sqlite_store.backup_now(tmp_path, keep=3).path for _ in range(5)]
    listed = sqlite_store.list_backups(tmp_path)
    assert [b.path for b in listed] == made[:-4:-1]  # newest first, oldest two deleted
    assert (tmp_path / "notes.txt").exists()
    with pytest.raises(ValidationError):
        sqlite_store.backup_now(tmp_path, keep=0)
    with pytest.raises(StoreError, match="cannot write a backup"):
        sqlite_store.backup_now(tmp_path / "notes.txt")  # a file, not a folder
    assert len(sqlite_store.list_backups(tmp_path)) == 3


def test_restore_refuses_bad_files_and_changes_nothing(sqlite_store: Store, tmp_path: Path) -> None:
    _fill(sqlite_store)
    before = _snapshot(sqlite_store)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE x(a)").connection.close()
    future = Path(sqlite_store.backup_now(tmp_path / "made").path)
    raw = sqlite3.connect(future)
    raw.execute("UPDATE alembic_version SET version_num = '9999_future'")
    raw.commit()
    raw.close()
    for path, message, in_chinese in [(tmp_path / "missing.db", "no backup file", "找不到备份文件"),
                                      (junk, "not a readable SQLite", "不是可读取的 SQLite 数据库"),
                                      (foreign, "not an Inkstone", "不是 Inkstone 的故事数据库"),
                                      (future, "newer Inkstone", "更新版本的 Inkstone")]:
        with pytest.raises(StoreError, match=message) as refused:
            sqlite_store.restore_backup(path)
        assert in_chinese in refused.value.render("zh")  # a code the page renders in the writer's language
    assert _snapshot(sqlite_store) == before
    assert sqlite_store.list_backups(tmp_path) == []  # no safety copy for a refused restore


def test_memory_store_cannot_be_restored_into(tmp_path: Path) -> None:
    with Store("sqlite://") as memory:  # no file: nothing to restore into
        info = memory.backup_now(tmp_path)
        with pytest.raises(StoreError, match="file database"):
            memory.restore_backup(info.path)


def test_scheduler_backs_up_and_stops_promptly(sqlite_store: Store, tmp_path: Path) -> None:
    _fill(sqlite_store)
    scheduler = BackupScheduler(sqlite_store, tmp_path / "auto", interval_s=0.05, keep=2).start()
    deadline = time.monotonic() + 20
    while len(sqlite_store.list_backups(tmp_path / "auto")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    assert not scheduler.running
    assert len(sqlite_store.list_backups(tmp_path / "auto")) == 2
    assert scheduler.last_error is None and scheduler.last_backup is not None
    hourly = BackupScheduler(sqlite_store, tmp_path / "hourly", interval_s=3600).start()
    hourly.stop()  # must not wait for the hour to pass
    assert not hourly.running and sqlite_store.list_backups(tmp_path / "hourly") == []
    with pytest.raises(ValidationError):
        BackupScheduler(sqlite_store, tmp_path, interval_s=0)


def test_rotation_never_deletes_the_backup_just_written(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    future = folder / "inkstone-20991231-000000-000000.db"  # sorts newer than any real backup
    future.write_bytes(b"not really a backup")
    info = sqlite_store.backup_now(folder, keep=1)
    assert Path(info.path).is_file() and info.size_bytes == Path(info.path).stat().st_size
    assert [b.path for b in sqlite_store.list_backups(folder)] == [info.path]
    assert not future.exists()


def test_restore_failure_is_a_store_error(sqlite_store: Store, tmp_path: Path) -> None:
    project_id = _fill(sqlite_store)
    info = sqlite_store.backup_now(tmp_path / "backups")
    copy = sqlite3.connect(info.path)
    copy.execute("PRAGMA page_size=8192")
    copy.execute("VACUUM")  # still a sound Inkstone file, but SQLite cannot copy it into a WAL database
    copy.close()
    with pytest.raises(StoreError, match="restoring"):
        sqlite_store.restore_backup(info.path)
    assert sqlite_store.get_project(project_id).title == "备份测试"
