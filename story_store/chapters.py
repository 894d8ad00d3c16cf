"""Chapters and their revision history: ordering, optimistic saves, restores, trash.

Invariants:
- live chapters of a project are numbered 1..n by `ordinal` without gaps; a trashed chapter keeps
  the ordinal it had, which is where `restore_chapter` puts it back;
- `Chapter.version` equals the newest revision's version (0 while the chapter has no text saved);
  each revision's parent is the revision that was newest when it was written;
- a save names the version it was based on; a stale one raises ConflictError and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from story_store.errors import ConflictError, ValidationError
from story_store.fields import MAX_INT32, check_choice, check_fields, check_int, check_text
from story_store.models import Chapter, ChapterRevision, Character, Project, utc_now
from story_store.records import ChapterRecord, RevisionRecord, to_record
from story_store.versioning import VersioningMixin, change_size

CHAPTER_META_FIELDS = ("title", "outline", "summary", "status", "pov_character_id")


class ChapterMixin(VersioningMixin):
    def create_chapter(self, project_id: int, title: str = "", outline: str = "", text: str = "",
                       ordinal: int | None = None, source: str = "user") -> ChapterRecord:
        """Add a chapter at `ordinal` (None = at the end); non-empty text becomes revision 1."""
        values = check_fields(Chapter, ChapterRecord, dict(title=title, outline=outline, text=text),
                              CHAPTER_META_FIELDS + ("text",))
        check_choice("chapter_revisions", "source", source)
        if ordinal is not None:
            check_int("chapter ordinal", ordinal, 1, MAX_INT32)
        with self._write() as session:
            self._lock_order(session, project_id)
            order = self._live_order(session, project_id)
            position = len(order) + 1 if ordinal is None else min(ordinal, len(order) + 1)
            row = Chapter(project_id=project_id, ordinal=position, version=1 if text else 0, **values)
            session.add(row)
            session.flush()
            if text:
                session.add(ChapterRevision(chapter_id=row.id, version=1, text=text, source=source))
            order.insert(position - 1, row.id)
            self._renumber(session, order)
            return self._record(session, row, ChapterRecord)

    def create_chapters(self, project_id: int, chapters: list[dict[str, Any]],
                        source: str = "import") -> list[ChapterRecord]:
        """Append many chapters ({"title", "outline", "text"}) in one transaction: all or none.

        Each non-empty text becomes revision 1 with `source` ("import" by default)."""
        if not isinstance(chapters, list) or not all(isinstance(c, dict) for c in chapters):
            raise ValidationError("chapters must be a list of {title, outline, text} mappings")
        allowed = {"title", "outline", "text"}
        for item in chapters:
            if set(item) - allowed:
                raise ValidationError(f"unknown chapter fields: {', '.join(sorted(set(item) - allowed))}")
        rows = [check_fields(Chapter, ChapterRecord, {k: item.get(k, "") for k in allowed},
                             CHAPTER_META_FIELDS + ("text",)) for item in chapters]
        check_choice("chapter_revisions", "source", source)
        with self._write() as session:
            self._lock_order(session, project_id)
            first = len(self._live_order(session, project_id)) + 1
            created = [Chapter(project_id=project_id, ordinal=first + i, version=1 if v["text"] else 0, **v)
                       for i, v in enumerate(rows)]
            session.add_all(created)
            session.flush()
            session.add_all([ChapterRevision(chapter_id=row.id, version=1, text=row.text, source=source)
                              for row in created if row.text])
            session.flush()
            return [to_record(row, ChapterRecord) for row in created]

    def get_chapter(self, chapter_id: int) -> ChapterRecord:
        return self._get(Chapter, ChapterRecord, chapter_id)

    def list_chapters(self, project_id: int, include_deleted: bool = False) -> list[ChapterRecord]:
        query = select(Chapter).where(Chapter.project_id == project_id)
        if not include_deleted:
            query = query.where(Chapter.deleted_at.is_(None))
        with self._read() as session:
            self._project(session, project_id)
            rows = session.scalars(query.order_by(Chapter.ordinal, Chapter.id))
            return [to_record(row, ChapterRecord) for row in rows]

    def update_chapter_meta(self, chapter_id: int, base_version: int | None = None, source: str = "user",
                            author: str = "", **fields: Any) -> ChapterRecord:
        """Change title/status/POV (group "meta"), the outline or the summary; the text version does
        not move. With `base_version` the fields belong to one group and it must be that group's
        version (`meta_version`, `outline_version`, `summary_version`), else ConflictError."""
        return self._versioned_update("chapter", chapter_id, fields, CHAPTER_META_FIELDS, base_version,
                                      source, author, check=self._check_pov)

    def save_chapter_text(self, chapter_id: int, text: str, base_version: int,
                          source: str = "user") -> ChapterRecord:
        """Save `text` as a new revision if `base_version` is still current, else ConflictError.

        Saving exactly the stored text changes nothing and returns the chapter as it is.
        """
        check_text("chapter text", text)
        check_int("base_version", base_version, 0, MAX_INT32)
        check_choice("chapter_revisions", "source", source)
        with self._write() as session:
            return self._save_text(session, chapter_id, text, base_version, source)

    def move_chapter(self, chapter_id: int, new_ordinal: int) -> list[ChapterRecord]:
        """Move a live chapter to `new_ordinal` (clamped to 1..n); return the renumbered chapters."""
        check_int("new ordinal", new_ordinal, 1, MAX_INT32)
        with self._write() as session:
            row = self._locked_chapter(session, chapter_id)
            if row.deleted_at is not None:
                raise ValidationError("store.move_trashed_chapter", id=chapter_id)
            order = [i for i in self._live_order(session, row.project_id) if i != chapter_id]
            order.insert(min(new_ordinal, len(order) + 1) - 1, chapter_id)
            self._renumber(session, order)
            return self._live_records(session, row.project_id)

    def delete_chapter(self, chapter_id: int) -> ChapterRecord:
        """Trash a chapter; the chapters after it move up one place."""
        with self._write() as session:
            row = self._locked_chapter(session, chapter_id)
            if row.deleted_at is None:
                row.deleted_at = utc_now()
                session.flush()
                self._renumber(session, self._live_order(session, row.project_id))
            return self._record(session, row, ChapterRecord)

    def restore_chapter(self, chapter_id: int) -> ChapterRecord:
        """Bring a chapter back from the trash at the place it had (or at the end)."""
        with self._write() as session:
            row = self._locked_chapter(session, chapter_id)
            if row.deleted_at is not None:
                order = self._live_order(session, row.project_id)
                order.insert(min(row.ordinal, len(order) + 1) - 1, row.id)
                row.deleted_at = None
                self._renumber(session, order)
            session.refresh(row)
            return to_record(row, ChapterRecord)

    # ---- revisions --------------------------------------------------------------------------

    def list_revisions(self, chapter_id: int) -> list[RevisionRecord]:
        """Every saved version of the chapter, newest first."""
        query = (select(ChapterRevision).where(ChapterRevision.chapter_id == chapter_id)
                 .order_by(ChapterRevision.version.desc(), ChapterRevision.id.desc()))
        with self._read() as session:
            self._row(session, Chapter, chapter_id)
            return [to_record(row, RevisionRecord) for row in session.scalars(query)]

    def get_revision(self, revision_id: int) -> RevisionRecord:
        return self._get(ChapterRevision, RevisionRecord, revision_id)

    def restore_revision(self, revision_id: int, base_version: int) -> ChapterRecord:
        """Make an earlier revision's text current again, as a new revision (source "restore")."""
        check_int("base_version", base_version, 0, MAX_INT32)
        with self._write() as session:
            revision = self._row(session, ChapterRevision, revision_id)
            return self._save_text(session, revision.chapter_id, revision.text, base_version, "restore")

    def chapters_mentioning(self, project_id: int, terms: list[str]) -> list[ChapterRecord]:
        """Live chapters whose text or outline contains any of `terms` (case-insensitive)."""
        if not isinstance(terms, list):
            raise ValidationError("terms must be a list of texts")
        needles = [check_text("search term", t, 10_000) for t in terms]
        needles = [t for t in needles if t.strip()]
        if not needles:
            return []
        matches = [column.icontains(t, autoescape=True)
                   for t in needles for column in (Chapter.text, Chapter.outline)]
        query = (select(Chapter).where(Chapter.project_id == project_id,
                                       Chapter.deleted_at.is_(None), or_(*matches))
                 .order_by(Chapter.ordinal, Chapter.id))
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, ChapterRecord) for row in session.scalars(query)]

    # ---- helpers (inside a transaction) -----------------------------------------------------

    def _save_text(self, session: Session, chapter_id: int, text: str, base_version: int,
                   source: str) -> ChapterRecord:
        # FOR UPDATE on PostgreSQL; on SQLite the transaction already holds the write lock.
        row = self._row(session, Chapter, chapter_id, lock=True)
        if row.version != base_version:
            raise self._conflict(session, row, base_version)
        if row.text == text:
            return to_record(row, ChapterRecord)
        newest = session.scalar(select(ChapterRevision.id).where(ChapterRevision.chapter_id == row.id)
                                .order_by(ChapterRevision.version.desc()).limit(1))
        row.version = base_version + 1
        row.text = text
        session.add(ChapterRevision(chapter_id=row.id, version=row.version, text=text,
                                    source=source, parent_revision_id=newest))
        return self._record(session, row, ChapterRecord)

    @staticmethod
    def _conflict(session: Session, row: Chapter, base_version: int) -> ConflictError:
        name = f"chapter {row.ordinal} “{row.title}”" if row.title else f"chapter {row.ordinal}"
        stamp = row.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        source = session.scalar(select(ChapterRevision.source).where(ChapterRevision.chapter_id == row.id)
                                .order_by(ChapterRevision.version.desc()).limit(1))
        facts: dict[str, Any] = dict(chapter_id=row.id, base_version=base_version, current_version=row.version,
                                     current_updated_at=row.updated_at, kind="chapter", field_group="text",
                                     saved_source=source or "")
        if base_version > row.version:
            message = (f"{name} has no version {base_version}; it is at version {row.version} "
                       f"(saved {stamp}). Your text was not saved.")
            return ConflictError(message, code="conflict.unknown_version", **facts)
        base_text = session.scalar(select(ChapterRevision.text).where(
            ChapterRevision.chapter_id == row.id, ChapterRevision.version == base_version)) or ""
        added, removed = change_size(base_text, row.text)
        message = (f"{name} was saved elsewhere at {stamp} as version {row.version} "
                   f"(+{added} / −{removed} characters since your version {base_version}); "
                   "your text was not saved. Reload the chapter and apply your edit again.")
        return ConflictError(message, code="conflict.stale", changed_fields=("text",), added=added,
                             removed=removed, **facts)

    def _check_pov(self, session: Session, row: Chapter, values: Mapping[str, Any]) -> None:
        pov = values.get("pov_character_id")
        if pov is not None and self._row(session, Character, pov).project_id != row.project_id:
            raise ValidationError("store.pov_other_project", id=pov)

    def _lock_order(self, session: Session, project_id: int) -> None:
        """Serialize changes to one project's chapter order (FOR UPDATE on the project row;
        on SQLite the write transaction already excludes other writers)."""
        self._row(session, Project, project_id, lock=True)

    def _locked_chapter(self, session: Session, chapter_id: int) -> Chapter:
        """The chapter, read again after its project's order lock is held.

        The lock comes first, then a fresh read, so `deleted_at` and `ordinal` cannot be stale
        (on PostgreSQL another transaction may have moved or trashed it while we waited)."""
        row = self._row(session, Chapter, chapter_id)
        self._lock_order(session, row.project_id)
        session.refresh(row)
        return row

    @staticmethod
    def _live_order(session: Session, project_id: int) -> list[int]:
        return list(session.scalars(
            select(Chapter.id).where(Chapter.project_id == project_id, Chapter.deleted_at.is_(None))
            .order_by(Chapter.ordinal, Chapter.id)))

    @staticmethod
    def _renumber(session: Session, ordered_ids: list[int]) -> None:
        """Give the chapters `ordered_ids` the ordinals 1..n, writing only the ones that change."""
        if not ordered_ids:
            return
        session.flush()
        current = dict(session.execute(select(Chapter.id, Chapter.ordinal)
                                       .where(Chapter.id.in_(ordered_ids))).tuples().all())
        changes = [{"row_id": row_id, "new_ordinal": ordinal}
                   for ordinal, row_id in enumerate(ordered_ids, 1) if current[row_id] != ordinal]
        if changes:
            table = cast(Table, Chapter.__table__)
            session.execute(update(table).where(table.c.id == bindparam("row_id"))
                            .values(ordinal=bindparam("new_ordinal")), changes)
            session.expire_all()

    def _live_records(self, session: Session, project_id: int) -> list[ChapterRecord]:
        rows = session.scalars(select(Chapter).where(Chapter.project_id == project_id,
                                                     Chapter.deleted_at.is_(None))
                               .order_by(Chapter.ordinal, Chapter.id))
        return [to_record(row, ChapterRecord) for row in rows]
