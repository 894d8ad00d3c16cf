"""Files in and out: book/chapter exports, manuscript import, character cards and lorebooks.

Invariants: every file is written inside `options.export_dir` under a name made safe from a title
(app.interchange.exports); every import is parsed and checked completely before anything is stored, and a bad
file raises InvalidInput naming the problem, with nothing imported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path, PurePath

from app.interchange import cards, exports, lorebooks
from app.interchange.lorebooks import InterchangeError
from app.interchange.manuscript import ManuscriptError, ManuscriptSplit, parse_manuscript, preview_manuscript
from app.studio.errors import InvalidInput, StudioError, message_of
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import ChapterRecord, CharacterRecord, LoreEntryRecord, ProjectRecord


Stage = Callable[[str], None]  # hears a long job's stage code as the stage starts (the UI's progress bar)


def no_stage(stage: str) -> None:
    """The default listener: nobody is watching."""


def _book_chapter(project: ProjectRecord, chapter: ChapterRecord) -> exports.ChapterText:
    return exports.ChapterText(exports.chapter_heading(project.language, chapter.ordinal, chapter.title),
                               chapter.text)


def _check_format(fmt: str) -> str:
    if fmt not in exports.FORMATS:
        raise InvalidInput("exchange.unknown_format", fmt=fmt, choices=", ".join(exports.FORMATS))
    return fmt


@translates_store_errors
class ExchangeService:
    def __init__(self, store: StoryStore, export_dir: Path) -> None:
        self._store = store
        self._export_dir = export_dir

    # --- exports ---------------------------------------------------------------------------------
    def export_book(self, project_id: int, fmt: str, include_toc: bool = True,
                    include_synopsis: bool = True, progress: Stage = no_stage) -> Path:
        """The whole book (live chapters in order) as md/epub/txt; returns the new file's path.
        `progress` hears each stage as it starts: "export.collect", "export.write"."""
        _check_format(fmt)
        progress("export.collect")
        project = self._store.get_project(project_id)
        chapters = self._store.list_chapters(project_id)
        book = exports.Book(title=project.title, language=project.language, synopsis=project.synopsis,
                            chapters=tuple(_book_chapter(project, c) for c in chapters),
                            identifier=f"urn:inkstone:project:{project.id}")
        progress("export.write")
        return self._write(book, fmt, include_toc=include_toc, include_synopsis=include_synopsis)

    def export_chapter(self, chapter_id: int, fmt: str) -> Path:
        _check_format(fmt)
        chapter = self._store.get_chapter(chapter_id)
        project = self._store.get_project(chapter.project_id)
        heading = _book_chapter(project, chapter)
        book = exports.Book(title=project.title, language=project.language, synopsis="", chapters=(heading,),
                            identifier=f"urn:inkstone:chapter:{chapter.id}")
        return self._write(book, fmt, include_toc=False, include_synopsis=False,
                           file_title=f"{project.title} {heading.heading}")

    def _write(self, book: exports.Book, fmt: str, *, include_toc: bool, include_synopsis: bool,
               file_title: str | None = None) -> Path:
        try:
            return exports.write_book(book, fmt, self._export_dir, include_toc=include_toc,
                                      include_synopsis=include_synopsis, file_title=file_title)
        except exports.ExportError as exc:
            raise InvalidInput(message_of(exc)) from exc
        except OSError as exc:
            raise StudioError("exchange.export_failed", detail=str(exc.strerror or exc)) from exc

    # --- manuscript import -----------------------------------------------------------------------
    def preview_manuscript(self, filename: str, data: bytes) -> ManuscriptSplit:
        """How the file would be split (encoding used, chapters, skipped parts); nothing is stored."""
        try:
            return preview_manuscript(filename, bytes(data))
        except ManuscriptError as exc:
            raise _manuscript_refused(exc) from exc

    def import_manuscript_as_project(self, filename: str, data: bytes, language: str,
                                     progress: Stage = no_stage) -> list[ChapterRecord]:
        """A new project named after the file, holding the manuscript's chapters (file checked first)."""
        progress("import.check")
        split = self.preview_manuscript(filename, data)
        project = self._store.create_project(PurePath(split.filename).stem[:500] or "manuscript", language=language)
        return self.import_manuscript(project.id, filename, data, progress)

    def import_manuscript(self, project_id: int, filename: str, data: bytes,
                          progress: Stage = no_stage) -> list[ChapterRecord]:
        """Split a .md/.txt manuscript at its chapter headings and append the chapters (source "import").
        `progress` hears each stage as it starts: "import.split", "import.save"."""
        self._store.get_project(project_id)
        progress("import.split")
        try:
            parsed = parse_manuscript(filename, bytes(data))
        except ManuscriptError as exc:
            raise _manuscript_refused(exc) from exc
        progress("import.save")
        # One transaction: every chapter (revision 1, source "import") or none.
        return self._store.create_chapters(
            project_id, [{"title": chapter.title[:500], "text": chapter.text} for chapter in parsed])

    # --- character cards and lorebooks -----------------------------------------------------------
    def import_character_card(self, project_id: int, filename: str, data: bytes) -> CharacterRecord:
        """A SillyTavern card (PNG or JSON, V2/V3) → one character plus its embedded lore entries."""
        self._store.get_project(project_id)
        try:
            parsed = cards.bind_book(cards.parse_card(filename, bytes(data)), uuid.uuid4().hex)
        except InterchangeError as exc:
            raise InvalidInput(message_of(exc)) from exc
        characters, _ = self._store.import_bundle(project_id, [parsed.character], list(parsed.lore_entries))
        return characters[0]

    def export_character_card(self, character_id: int, fmt: str) -> Path:
        """A V3 card (JSON, or PNG with V2 and V3 chunks, the portrait it came with); its character_book
        holds the entries that came with this character plus those the writer linked to it."""
        if fmt not in ("png", "json"):
            raise InvalidInput("exchange.card_format", fmt=fmt)
        character = self._store.get_character(character_id)
        lore = cards.character_lore(character, self._store.list_lore_entries(character.project_id))
        try:
            data = cards.card_png(character, lore) if fmt == "png" else cards.card_json(character, lore)
        except InterchangeError as exc:
            raise InvalidInput(message_of(exc)) from exc
        return self._write_bytes(character.name, fmt, data)

    def import_lorebook(self, project_id: int, filename: str, data: bytes) -> list[LoreEntryRecord]:
        """A SillyTavern World Info or NovelAI .lorebook file → lore entries of the project."""
        self._store.get_project(project_id)
        try:
            entries = lorebooks.parse_lorebook(filename, bytes(data))
        except InterchangeError as exc:
            raise InvalidInput(message_of(exc)) from exc
        _, records = self._store.import_bundle(project_id, [], list(entries))
        return records

    def export_lorebook(self, project_id: int) -> Path:
        project = self._store.get_project(project_id)
        data = lorebooks.world_info_json(self._store.list_lore_entries(project_id), name=project.title)
        return self._write_bytes(f"{project.title} lorebook", "json", data)

    def _write_bytes(self, title: str, extension: str, data: bytes) -> Path:
        try:
            return exports.write_file(self._export_dir, title, extension, data)
        except exports.ExportError as exc:
            raise InvalidInput(message_of(exc)) from exc
        except OSError as exc:
            raise StudioError("exchange.write_failed", detail=str(exc.strerror or exc)) from exc


def _manuscript_refused(exc: ManuscriptError) -> InvalidInput:
    """A refused manuscript with its code and values: `message` is the catalogue's "err_" + code text
    (rendered in the writer's language), `str()` the English sentence."""
    return InvalidInput(str(exc), code=exc.code, **exc.values)
