"""Passages (generated or written spans forming a tree) and the writer's branch preferences.

Invariants: a passage's chapter and parent belong to its project; `update_passage` is one UPDATE
by primary key (it runs about once a second while text streams in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, select, update
from sqlalchemy.orm import Session

from story_store.base import StoreBase, editable_fields
from story_store.errors import ValidationError
from story_store.fields import MAX_INT64, check_fields, check_int, check_text, not_found, other_project
from story_store.models import Chapter, Passage, Preference, utc_now
from story_store.records import PassageRecord, PreferenceRecord, to_record
from story_store.search import insert_passages_indexed_once

PASSAGES = cast(Table, Passage.__table__)  # Core statements (bulk insert, one-UPDATE edits)

PASSAGE_FIELDS = editable_fields(PassageRecord)
PASSAGE_DEFAULTS: dict[str, Any] = dict(
    chapter_id=None, parent_id=None, text="", origin="ai", task="", model_id="", sampling={},
    seed=None, prompt_hash="", branch_index=0, status="done", finish_reason="", accepted=False,
)
MAX_BULK_ROWS = 1_000_000


class PassageMixin(StoreBase):
    def create_passage(self, project_id: int, *, chapter_id: int | None = None,
                       parent_id: int | None = None, text: str = "", origin: str = "ai",
                       task: str = "", model_id: str = "", sampling: dict[str, Any] | None = None,
                       seed: int | None = None, prompt_hash: str = "", branch_index: int = 0,
                       status: str = "done") -> PassageRecord:
        fields = dict(chapter_id=chapter_id, parent_id=parent_id, text=text, origin=origin,
                      task=task, model_id=model_id, sampling={} if sampling is None else sampling,
                      seed=seed, prompt_hash=prompt_hash, branch_index=branch_index, status=status)
        values = check_fields(Passage, PassageRecord, fields, PASSAGE_FIELDS)
        with self._write() as session:
            self._project(session, project_id)
            self._check_links(session, project_id, {chapter_id} - {None}, {parent_id} - {None})
            row = Passage(project_id=project_id, **values)
            session.add(row)
            return self._record(session, row, PassageRecord)

    def update_passage(self, passage_id: int, *, text: str | None = None, status: str | None = None,
                       finish_reason: str | None = None) -> PassageRecord:
        """Replace the text / status / finish reason of a passage with one UPDATE."""
        changes = {k: v for k, v in dict(text=text, status=status, finish_reason=finish_reason).items()
                   if v is not None}
        values = check_fields(Passage, PassageRecord, changes, PASSAGE_FIELDS)
        with self._write() as session:
            if values:
                result = session.execute(update(PASSAGES).where(PASSAGES.c.id == passage_id)
                                         .values(**values, updated_at=utc_now()))
                if cast(CursorResult[Any], result).rowcount == 0:
                    raise not_found("passages", passage_id)
            return to_record(self._row(session, Passage, passage_id), PassageRecord)

    def get_passage(self, passage_id: int) -> PassageRecord:
        return self._get(Passage, PassageRecord, passage_id)

    def list_passages(self, project_id: int, chapter_id: int | None = None) -> list[PassageRecord]:
        query = select(Passage).where(Passage.project_id == project_id).order_by(Passage.id)
        if chapter_id is not None:
            query = query.where(Passage.chapter_id == chapter_id)
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, PassageRecord) for row in session.scalars(query)]

    def passage_children(self, parent_id: int) -> list[PassageRecord]:
        """The branches grown from `parent_id`, by branch index."""
        query = (select(Passage).where(Passage.parent_id == parent_id)
                 .order_by(Passage.branch_index, Passage.id))
        with self._read() as session:
            self._row(session, Passage, parent_id)
            return [to_record(row, PassageRecord) for row in session.scalars(query)]

    def set_passage_accepted(self, passage_id: int, accepted: bool = True) -> PassageRecord:
        return self._update(Passage, PassageRecord, passage_id, {"accepted": accepted}, ("accepted",))

    def bulk_insert_passages(self, project_id: int, rows: list[dict[str, Any]]) -> int:
        """Insert many passages with one Core INSERT (executemany); all rows or none."""
        if not isinstance(rows, list) or len(rows) > MAX_BULK_ROWS:
            raise ValidationError(f"rows must be a list of at most {MAX_BULK_ROWS:,} passages")
        now = utc_now()
        values = [{**PASSAGE_DEFAULTS, **_passage_row(row), "project_id": project_id,
                   "created_at": now, "updated_at": now} for row in rows]
        if not values:
            return 0
        chapters = {v["chapter_id"] for v in values} - {None}
        parents = {v["parent_id"] for v in values} - {None}
        with self._write() as session:
            self._project(session, project_id)
            self._check_links(session, project_id, chapters, parents)
            def insert_rows() -> None:
                session.execute(insert(PASSAGES), values)

            if self.has_fts:
                insert_passages_indexed_once(session, insert_rows)
            else:
                insert_rows()
        return len(values)

    # ---- preferences ------------------------------------------------------------------------

    def record_preference(self, project_id: int, prompt: str, chosen_passage_id: int,
                          rejected_passage_id: int) -> PreferenceRecord:
        check_text("preference prompt", prompt)
        check_int("chosen passage id", chosen_passage_id, 1, MAX_INT64)
        check_int("rejected passage id", rejected_passage_id, 1, MAX_INT64)
        if chosen_passage_id == rejected_passage_id:
            raise ValidationError("the chosen and the rejected passage must differ")
        with self._write() as session:
            self._project(session, project_id)
            self._check_links(session, project_id, set(), {chosen_passage_id, rejected_passage_id})
            row = Preference(project_id=project_id, prompt=prompt, chosen_passage_id=chosen_passage_id,
                             rejected_passage_id=rejected_passage_id)
            session.add(row)
            return self._record(session, row, PreferenceRecord)

    def list_preferences(self, project_id: int) -> list[PreferenceRecord]:
        query = select(Preference).where(Preference.project_id == project_id).order_by(Preference.id)
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, PreferenceRecord) for row in session.scalars(query)]

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _check_links(session: Session, project_id: int, chapter_ids: set[Any],
                     passage_ids: set[Any]) -> None:
        """Every chapter / passage id named exists and belongs to `project_id`."""
        for model, ids in ((Chapter, chapter_ids), (Passage, passage_ids)):
            if not ids:
                continue
            found = dict(session.execute(select(model.id, model.project_id)
                                         .where(model.id.in_(ids))).tuples().all())
            for row_id in sorted(ids):
                if row_id not in found:
                    raise not_found(model.__tablename__, row_id)
                if found[row_id] != project_id:
                    raise other_project(model.__tablename__, row_id)


def _passage_row(row: Any) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise ValidationError(f"each passage row must be a mapping of fields, got {type(row).__name__}")
    return check_fields(Passage, PassageRecord, row, PASSAGE_FIELDS)
