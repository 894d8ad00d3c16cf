"""Projects, characters and lore entries: create, read, update, trash/restore, purge, bundles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from story_store.base import editable_fields
from story_store.errors import ValidationError
from story_store.fields import check_fields, require_non_blank
from story_store.models import Character, LoreEntry, Project
from story_store.records import CharacterRecord, LoreEntryRecord, ProjectRecord, to_record
from story_store.versioning import VersioningMixin

PROJECT_FIELDS = editable_fields(ProjectRecord)
CHARACTER_FIELDS = editable_fields(CharacterRecord)
LORE_FIELDS = editable_fields(LoreEntryRecord)


def _character_values(project_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    if "name" not in fields:
        raise ValidationError("store.character_needs_name")
    values = check_fields(Character, CharacterRecord, fields, CHARACTER_FIELDS)
    require_non_blank(values, ("name",), "characters")
    return {**values, "project_id": project_id}


def _lore_values(project_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    values = check_fields(LoreEntry, LoreEntryRecord, fields, LORE_FIELDS)
    return {**values, "project_id": project_id}


class ContentMixin(VersioningMixin):
    # ---- projects ---------------------------------------------------------------------------

    def create_project(self, title: str, language: str = "zh", genre: str = "", synopsis: str = "",
                       style_guide: str = "", authors_note: str = "",
                       settings: dict[str, Any] | None = None) -> ProjectRecord:
        fields = dict(title=title, language=language, genre=genre, synopsis=synopsis,
                      style_guide=style_guide, authors_note=authors_note,
                      settings={} if settings is None else settings)
        values = check_fields(Project, ProjectRecord, fields, PROJECT_FIELDS)
        require_non_blank(values, ("title",), "projects")
        return self._create(Project, ProjectRecord, values)

    def get_project(self, project_id: int) -> ProjectRecord:
        return self._get(Project, ProjectRecord, project_id)

    def list_projects(self, include_deleted: bool = False) -> list[ProjectRecord]:
        query = select(Project).order_by(Project.id)
        if not include_deleted:
            query = query.where(Project.deleted_at.is_(None))
        with self._read() as session:
            return [to_record(row, ProjectRecord) for row in session.scalars(query)]

    def update_project(self, project_id: int, base_version: int | None = None, source: str = "user",
                       author: str = "", **fields: Any) -> ProjectRecord:
        """Change the details (title, language, genre, synopsis, style guide, author's note; their
        version is `version`) or the settings (`settings_version`). With `base_version` the fields
        belong to one of the two groups and it must be that group's version, else ConflictError."""
        require_non_blank(fields, ("title",), "projects")
        return self._versioned_update("project", project_id, fields, PROJECT_FIELDS, base_version,
                                      source, author)

    def delete_project(self, project_id: int) -> ProjectRecord:
        """Move the project to the trash; its chapters, characters and chats stay with it."""
        return self._set_deleted(Project, ProjectRecord, project_id, True)

    def restore_project(self, project_id: int) -> ProjectRecord:
        return self._set_deleted(Project, ProjectRecord, project_id, False)

    def purge_project(self, project_id: int) -> None:
        """Delete a trashed project for good; the database cascades to everything it owns.

        Refuses (ValidationError) a project that is not in the trash, so one call cannot destroy
        live work: trash it with `delete_project` first.
        """
        with self._write() as session:
            project = self._project(session, project_id)
            if project.deleted_at is None:
                raise ValidationError("store.purge_not_trashed", id=project_id)
            session.execute(delete(Project).where(Project.id == project_id))

    # ---- characters -------------------------------------------------------------------------

    def create_character(self, project_id: int, name: str, **fields: Any) -> CharacterRecord:
        values = _character_values(project_id, {"name": name, **fields})
        return self._create(Character, CharacterRecord, values)

    def get_character(self, character_id: int) -> CharacterRecord:
        return self._get(Character, CharacterRecord, character_id)

    def list_characters(self, project_id: int, include_deleted: bool = False) -> list[CharacterRecord]:
        return self._list_children(Character, CharacterRecord, project_id, include_deleted,
                                   (Character.id,))

    def update_character(self, character_id: int, base_version: int | None = None, source: str = "user",
                         author: str = "", **fields: Any) -> CharacterRecord:
        """Change the sheet; with `base_version` it must equal the character's `version`."""
        require_non_blank(fields, ("name",), "characters")
        return self._versioned_update("character", character_id, fields, CHARACTER_FIELDS, base_version,
                                      source, author)

    def delete_character(self, character_id: int) -> CharacterRecord:
        return self._set_deleted(Character, CharacterRecord, character_id, True)

    def restore_character(self, character_id: int) -> CharacterRecord:
        return self._set_deleted(Character, CharacterRecord, character_id, False)

    # ---- lore -------------------------------------------------------------------------------

    def create_lore_entry(self, project_id: int, **fields: Any) -> LoreEntryRecord:
        return self._create(LoreEntry, LoreEntryRecord, _lore_values(project_id, fields))

    def get_lore_entry(self, entry_id: int) -> LoreEntryRecord:
        return self._get(LoreEntry, LoreEntryRecord, entry_id)

    def list_lore_entries(self, project_id: int, include_deleted: bool = False) -> list[LoreEntryRecord]:
        return self._list_children(LoreEntry, LoreEntryRecord, project_id, include_deleted,
                                   (LoreEntry.insertion_order, LoreEntry.id))

    def update_lore_entry(self, entry_id: int, base_version: int | None = None, source: str = "user",
                          author: str = "", **fields: Any) -> LoreEntryRecord:
        """Change the entry; with `base_version` it must equal the entry's `version`."""
        return self._versioned_update("lore", entry_id, fields, LORE_FIELDS, base_version, source, author)

    def delete_lore_entry(self, entry_id: int) -> LoreEntryRecord:
        return self._set_deleted(LoreEntry, LoreEntryRecord, entry_id, True)

    def restore_lore_entry(self, entry_id: int) -> LoreEntryRecord:
        return self._set_deleted(LoreEntry, LoreEntryRecord, entry_id, False)

    # ---- bundles ----------------------------------------------------------------------------

    def import_bundle(self, project_id: int, characters: list[dict[str, Any]],
                      lore_entries: list[dict[str, Any]]
                      ) -> tuple[list[CharacterRecord], list[LoreEntryRecord]]:
        """Add characters and lore entries all-or-nothing: one bad item and nothing is added."""
        if not isinstance(characters, list) or not isinstance(lore_entries, list):
            raise ValidationError("import_bundle takes lists of characters and lore entries")
        character_values = [_character_values(project_id, _mapping(c, "character")) for c in characters]
        lore_values = [_lore_values(project_id, _mapping(e, "lore entry")) for e in lore_entries]
        with self._write() as session:
            self._project(session, project_id)
            character_rows = [Character(**values) for values in character_values]
            lore_rows = [LoreEntry(**values) for values in lore_values]
            session.add_all([*character_rows, *lore_rows])
            session.flush()
            return ([to_record(row, CharacterRecord) for row in character_rows],
                    [to_record(row, LoreEntryRecord) for row in lore_rows])

    # ---- shared -----------------------------------------------------------------------------

    def _list_children(self, model: Any, record: type, project_id: int, include_deleted: bool,
                       order: tuple[Any, ...]) -> list[Any]:
        query = select(model).where(model.project_id == project_id).order_by(*order)
        if not include_deleted:
            query = query.where(model.deleted_at.is_(None))
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, record) for row in session.scalars(query)]


def _mapping(item: Any, noun: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ValidationError(f"each {noun} to import must be a mapping of fields, got {type(item).__name__}")
    return item
