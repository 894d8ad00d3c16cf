"""Continuity data in the store: glossary terms, stated facts (trash-able), lore reveals, chat cutoffs.

One transaction per public method; records out. A chapter number is a 1-based ordinal; None clears a
reveal or a cutoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from story_store.base import StoreBase, editable_fields
from story_store.continuity_models import MAX_CHAPTER, ChatCutoff, GlossaryTerm, LoreReveal, StoryFact
from story_store.errors import ValidationError
from story_store.fields import check_fields, check_int, require_non_blank
from story_store.models import ChatSession, LoreEntry
from story_store.records import GlossaryTermRecord, StoryFactRecord, to_record

GLOSSARY_FIELDS = editable_fields(GlossaryTermRecord)
FACT_FIELDS = editable_fields(StoryFactRecord)


def _glossary_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = check_fields(GlossaryTerm, GlossaryTermRecord, fields, GLOSSARY_FIELDS)
    require_non_blank(values, ("canonical",), "glossary_terms")
    if "variants" in values:
        variants = [v.strip() for v in values["variants"]]
        if any(not v for v in variants):
            raise ValidationError("store.blank_variant")
        values["variants"] = list(dict.fromkeys(variants))
    return values


def _fact_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = check_fields(StoryFact, StoryFactRecord, fields, FACT_FIELDS)
    require_non_blank(values, ("subject", "attribute", "value"), "story_facts")
    return values


def _chapter(where: str, chapter: Any) -> int:
    return check_int(where, chapter, 1, MAX_CHAPTER)


class ContinuityMixin(StoreBase):
    # ---- glossary -----------------------------------------------------------------------------

    def create_glossary_term(self, project_id: int, canonical: str, **fields: Any) -> GlossaryTermRecord:
        values = _glossary_values({"canonical": canonical, **fields})
        if values["canonical"] in values.get("variants", []):
            raise ValidationError("store.variant_is_term")
        return self._create(GlossaryTerm, GlossaryTermRecord, {**values, "project_id": project_id})

    def list_glossary_terms(self, project_id: int, include_deleted: bool = False) -> list[GlossaryTermRecord]:
        return self._list_continuity(GlossaryTerm, GlossaryTermRecord, project_id, include_deleted)

    def update_glossary_term(self, term_id: int, **fields: Any) -> GlossaryTermRecord:
        return self._update(GlossaryTerm, GlossaryTermRecord, term_id, _glossary_values(fields), GLOSSARY_FIELDS)

    def delete_glossary_term(self, term_id: int) -> GlossaryTermRecord:
        return self._set_deleted(GlossaryTerm, GlossaryTermRecord, term_id, True)

    def restore_glossary_term(self, term_id: int) -> GlossaryTermRecord:
        return self._set_deleted(GlossaryTerm, GlossaryTermRecord, term_id, False)

    # ---- stated facts ---------------------------------------------------------------------------

    def create_story_fact(self, project_id: int, subject: str, attribute: str, value: str,
                          **fields: Any) -> StoryFactRecord:
        values = _fact_values({"subject": subject, "attribute": attribute, "value": value, **fields})
        return self._create(StoryFact, StoryFactRecord, {**values, "project_id": project_id})

    def list_story_facts(self, project_id: int, include_deleted: bool = False) -> list[StoryFactRecord]:
        return self._list_continuity(StoryFact, StoryFactRecord, project_id, include_deleted)

    def update_story_fact(self, fact_id: int, **fields: Any) -> StoryFactRecord:
        return self._update(StoryFact, StoryFactRecord, fact_id, _fact_values(fields), FACT_FIELDS)

    def delete_story_fact(self, fact_id: int) -> StoryFactRecord:
        return self._set_deleted(StoryFact, StoryFactRecord, fact_id, True)

    def restore_story_fact(self, fact_id: int) -> StoryFactRecord:
        return self._set_deleted(StoryFact, StoryFactRecord, fact_id, False)

    # ---- lore reveals and chat cutoffs ---------------------------------------------------------

    def set_lore_reveal(self, entry_id: int, chapter: int | None) -> None:
        """Mark a lore entry as revealed only at `chapter` (None: known from the start)."""
        with self._write() as session:
            self._row(session, LoreEntry, entry_id)
            session.execute(delete(LoreReveal).where(LoreReveal.lore_entry_id == entry_id))
            if chapter is not None:
                session.add(LoreReveal(lore_entry_id=entry_id, reveal_chapter=_chapter("a reveal chapter", chapter)))

    def list_lore_reveals(self, project_id: int) -> dict[int, int]:
        """lore entry id -> the chapter that reveals it, for the project's entries that have one."""
        query = (select(LoreReveal.lore_entry_id, LoreReveal.reveal_chapter)
                 .join(LoreEntry, LoreEntry.id == LoreReveal.lore_entry_id)
                 .where(LoreEntry.project_id == project_id))
        with self._read() as session:
            self._project(session, project_id)
            return {entry_id: chapter for entry_id, chapter in session.execute(query)}

    def set_chat_cutoff(self, session_id: int, chapter: int | None) -> None:
        """Set a role-play chat "as of chapter N" (None: the whole book)."""
        with self._write() as session:
            self._row(session, ChatSession, session_id)
            session.execute(delete(ChatCutoff).where(ChatCutoff.session_id == session_id))
            if chapter is not None:
                session.add(ChatCutoff(session_id=session_id, as_of_chapter=_chapter("a cutoff chapter", chapter)))

    def get_chat_cutoff(self, session_id: int) -> int | None:
        with self._read() as session:
            self._row(session, ChatSession, session_id)
            row = session.get(ChatCutoff, session_id)
            return None if row is None else row.as_of_chapter

    def _list_continuity(self, model: Any, record: type, project_id: int, include_deleted: bool) -> list[Any]:
        query = select(model).where(model.project_id == project_id).order_by(model.id)
        if not include_deleted:
            query = query.where(model.deleted_at.is_(None))
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, record) for row in session.scalars(query)]
