"""Settings: the loaded engine, a project's sampling defaults, and the store's backups.

Invariant: restoring a backup first backs up the current content (the store keeps it next to the
backup), so a restore can itself be undone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.engine import Engine, EngineInfo, SamplingParams
from app.studio.core import sampling_for
from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import BackupInfo, ProjectRecord


@dataclass(frozen=True)
class BackupEntry:
    name: str  # the backup's key (its file name inside the backup folder)
    created_at: datetime  # UTC
    size_bytes: int


@dataclass(frozen=True)
class RestoredBackup:
    restored: BackupEntry
    safety: str  # name of the backup holding the content from just before the restore


@translates_store_errors
class SettingsService:
    def __init__(self, store: StoryStore, engine: Engine, backup_dir: Path | None = None) -> None:
        self._store = store
        self._engine = engine
        self._backup_dir = backup_dir  # None: this store is not backed up by Inkstone (e.g. PostgreSQL)

    def engine_info(self) -> EngineInfo:
        return self._engine.info()

    def sampling_defaults(self, project_id: int) -> SamplingParams:
        return sampling_for(self._store.get_project(project_id))

    def set_sampling_defaults(self, project_id: int, params: SamplingParams,
                              base_version: int | None = None) -> ProjectRecord:
        """Save the sampling defaults based on the project's `settings_version` (stale: SaveConflict)."""
        if not isinstance(params, SamplingParams):
            raise InvalidInput("settings.bad_sampling")
        project = self._store.get_project(project_id)
        settings = {**project.settings, "sampling": dataclasses.asdict(params)}
        return self._store.update_project(project_id, base_version=base_version, settings=settings)

    # --- backups --------------------------------------------------------------------------------
    def list_backups(self) -> list[BackupEntry]:
        """The store's backups, newest first (none when backups are not set up)."""
        if self._backup_dir is None:
            return []
        return [_entry(info) for info in self._store.list_backups(self._backup_dir)]

    def backup_now(self) -> BackupEntry:
        """Back the store up now (kept alongside the scheduled backups)."""
        return _entry(self._store.backup_now(self._require_backup_dir(), keep=None))

    def restore_backup(self, name: str) -> RestoredBackup:
        """Replace the whole story store with backup `name` (as listed); the content before the restore is
        first saved as a new backup (`RestoredBackup.safety`), so a restore can be undone the same way."""
        folder = self._require_backup_dir()
        chosen = {entry.name: entry for entry in self.list_backups()}.get(name) if isinstance(name, str) else None
        if chosen is None:
            raise InvalidInput("settings.no_such_backup", name=name)
        restored = self._store.restore_backup(folder / chosen.name)
        return RestoredBackup(restored=chosen, safety=Path(str(restored.extra.get("safety_backup", ""))).name)

    def _require_backup_dir(self) -> Path:
        if self._backup_dir is None:
            raise InvalidInput("settings.no_backups")
        return self._backup_dir


def _entry(info: BackupInfo) -> BackupEntry:
    return BackupEntry(name=Path(info.path).name, created_at=info.created_at, size_bytes=info.size_bytes)
