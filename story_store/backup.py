"""Online backups of a SQLite story database: on demand, on a schedule, rotated, restorable.

Backups use SQLite's online backup API on the live connection, so writers may keep working.
Each backup is written under a temporary name and renamed when complete, so a crash never
leaves a half file that looks like a backup. Backup files are self-contained (journal_mode
DELETE) and named `inkstone-YYYYmmdd-HHMMSS-ffffff.db` (UTC), so names sort by age.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from story_store import migrate
from story_store.base import StoreBase
from story_store.db import sqlite_file
from story_store.errors import StoreError, ValidationError
from story_store.records import BackupInfo

NAME_PATTERN = re.compile(r"^inkstone-(\d{8}-\d{6}-\d{6})\.db$")
STAMP_FORMAT = "%Y%m%d-%H%M%S-%f"


def backup_name(moment: datetime) -> str:
    return f"inkstone-{moment.strftime(STAMP_FORMAT)}.db"


def _sqlite(connection: object) -> sqlite3.Connection:
    """The DBAPI connection under a pooled SQLite connection (always a sqlite3.Connection here)."""
    if not isinstance(connection, sqlite3.Connection):
        raise StoreError("backups need a SQLite database file")
    return connection


def list_backups(dest_dir: str | os.PathLike[str]) -> list[BackupInfo]:
    """The backups in `dest_dir`, newest first (other files there are ignored)."""
    folder = Path(dest_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME_PATTERN.match(path.name)
        if match and path.is_file():
            created = datetime.strptime(match.group(1), STAMP_FORMAT)
            found.append(BackupInfo(path=str(path), size_bytes=path.stat().st_size, created_at=created))
    return sorted(found, key=lambda info: info.path, reverse=True)


def check_backup_file(path: Path) -> None:
    """Raise StoreError unless `path` is an intact SQLite file holding an Inkstone story store."""
    if not path.is_file():
        raise StoreError("store.backup_missing", path=str(path))
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = probe.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            versions = ({row[0] for row in probe.execute("SELECT version_num FROM alembic_version")}
                        if "alembic_version" in tables else set())
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError("store.backup_unreadable", name=path.name, detail=str(exc)) from exc
    if verdict != "ok":
        raise StoreError("store.backup_damaged", name=path.name, detail=str(verdict))
    if not {"alembic_version", "projects", "chapters"} <= tables:
        raise StoreError("store.backup_not_inkstone", name=path.name)
    if not versions <= migrate.known_revisions():
        raise StoreError("store.backup_newer", name=path.name, schema=", ".join(sorted(versions)))


class BackupMixin(StoreBase):
    def backup_now(self, dest_dir: str | os.PathLike[str], keep: int | None = 10) -> BackupInfo:
        """Copy the live database into `dest_dir`; then keep only the newest `keep` backups there."""
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValidationError(f"keep must be a whole number of at least 1 (or None), got {keep!r}")
        self._require_sqlite()
        folder = Path(dest_dir)
        moment = datetime.now(timezone.utc)
        final = folder / backup_name(moment)
        partial = final.with_name(final.name + ".partial")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._copy_live_database(partial)
            os.replace(partial, final)
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise StoreError("store.backup_write_failed", folder=str(folder), detail=str(exc)) from exc
        written = BackupInfo(path=str(final), size_bytes=final.stat().st_size,
                             created_at=moment.replace(tzinfo=None))  # the name's stamp
        if keep is not None:
            # The backup just written always survives, even if the folder holds "newer" names
            # (a clock set back, a copied-in file): it counts as one of the `keep`.
            others = [info for info in list_backups(folder) if info.path != written.path]
            for old in others[keep - 1:]:
                Path(old.path).unlink(missing_ok=True)
        return written

    def list_backups(self, dest_dir: str | os.PathLike[str]) -> list[BackupInfo]:
        return list_backups(dest_dir)

    def _copy_live_database(self, target_path: Path) -> None:
        """Online copy through SQLite's backup API; the copy is made self-contained."""
        raw = self._engine.raw_connection()
        try:
            target = sqlite3.connect(target_path)
            try:
                _sqlite(raw.driver_connection).backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            raw.close()

    def restore_backup(self, backup_path: str | os.PathLike[str]) -> BackupInfo:
        """Replace the live content with a backup's; the current content is backed up first.

        The safety backup goes next to `backup_path`; its path is in the result's `extra`.
        A backup from an older schema is migrated right after restoring.
        """
        self._require_sqlite()
        source_path = Path(backup_path)
        check_backup_file(source_path)
        live = sqlite_file(self._engine.url)
        if live is None or live.resolve() == source_path.resolve():
            raise StoreError("store.restore_into_itself")
        safety = self.backup_now(source_path.parent, keep=None)
        self._engine.dispose()  # no pooled connection keeps a stale view of the old content
        try:
            self._copy_backup_into_live(source_path)
        except sqlite3.Error as exc:
            raise StoreError("store.restore_failed", name=source_path.name, detail=str(exc),
                             safety=safety.path) from exc
        finally:
            self._engine.dispose()
        migrate.upgrade(self._writer)
        self._refresh_features()
        return BackupInfo(path=str(source_path), size_bytes=source_path.stat().st_size,
                          created_at=datetime.now(timezone.utc).replace(tzinfo=None),
                          extra={"safety_backup": safety.path})

    def _copy_backup_into_live(self, source_path: Path) -> None:
        source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            raw = self._engine.raw_connection()
            try:
                source.backup(_sqlite(raw.driver_connection))
            finally:
                raw.close()
        finally:
            source.close()

    def _require_sqlite(self) -> None:
        if self.dialect != "sqlite":
            raise StoreError("store.backup_needs_sqlite", dialect=self.dialect)


class BackupScheduler:
    """Backs a store up every `interval_s` seconds on a daemon thread until `stop()`."""

    def __init__(self, store: BackupMixin, dest_dir: str | os.PathLike[str], interval_s: float,
                 keep: int = 10) -> None:
        if not interval_s > 0:
            raise ValidationError(f"the backup interval must be positive, got {interval_s!r}")
        self.store, self.dest_dir, self.interval_s, self.keep = store, dest_dir, interval_s, keep
        self.last_backup: BackupInfo | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackupScheduler:
        if self._thread is not None:
            raise StoreError("this backup scheduler is already running")
        self._thread = threading.Thread(target=self._run, name="inkstone-backups", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to finish and wait for it (a backup in progress completes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.last_backup = self.store.backup_now(self.dest_dir, keep=self.keep)
                self.last_error = None
            except Exception as exc:  # keep the schedule alive; the UI can show last_error
                self.last_error = f"{type(exc).__name__}: {exc}"
