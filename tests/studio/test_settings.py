"""Settings: backups are listed, made, and restored (the content before a
restore is itself kept as a backup); a restore of an unknown backup, or without backups set up, is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from studio_helpers import new_project

from app.studio import InvalidInput, Studio, StudioOptions


@pytest.fixture()
def backed_up(store, engine, tmp_path: Path) -> Studio:
    options = StudioOptions(export_dir=tmp_path / "exports", backup_dir=tmp_path / "backups",
                            stream_interval_s=0.01, persist_interval_s=0.05)
    return Studio(store, engine, options)


def test_restore_brings_back_the_backed_up_content_and_keeps_the_newer_one(backed_up: Studio):
    studio = backed_up
    project = new_project(studio, title="旧稿")
    assert studio.settings.list_backups() == []
    made = studio.settings.backup_now()
    assert [b.name for b in studio.settings.list_backups()] == [made.name] and made.size_bytes > 0
    studio.library.update_project(project.id, title="新稿")
    studio.chapters.add_chapter(project.id, title="后来写的")

    done = studio.settings.restore_backup(made.name)

    assert done.restored == made and done.safety and done.safety != made.name
    assert [p.title for p in studio.library.list_projects()] == ["旧稿"]
    assert studio.chapters.list_chapters(project.id) == []
    assert {b.name for b in studio.settings.list_backups()} == {made.name, done.safety}
    studio.settings.restore_backup(done.safety)  # the restore itself can be undone
    assert [p.title for p in studio.library.list_projects()] == ["新稿"]
    assert [c.title for c in studio.chapters.list_chapters(project.id)] == ["后来写的"]


def test_unknown_backups_and_a_store_without_backups_are_refused(backed_up: Studio, studio: Studio):
    project = new_project(backed_up)
    with pytest.raises(InvalidInput, match="no backup named"):
        backed_up.settings.restore_backup("../inkstone.db")
    assert [p.id for p in backed_up.library.list_projects()] == [project.id]
    assert studio.settings.list_backups() == []  # options without a backup folder
    with pytest.raises(InvalidInput, match="not set up"):
        studio.settings.backup_now()
    with pytest.raises(InvalidInput, match="not set up"):
        studio.settings.restore_backup("inkstone-20261201-000000-000000.db")
