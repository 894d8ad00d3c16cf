"""The desk's chapter list and chapter opening: list, add, rename, reorder, delete; opening a chapter loads
its title, status, position, outline, text and version (moved here from the former Write tab), with the
History panels of the chapter's title/status and outline (app/ui/history.py).

Invariants: `shell.version` holds the chapter version the editor was loaded at; every save or accept
passes it as `base_version`, so a stale tab's save is refused with the studio's conflict message and
the editor keeps the writer's text. Likewise each field group (title/status, outline) keeps the version
it was loaded at in its panel; a save of that group is refused when it is stale (the fields kept).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, dropdown_update, guarded, markdown_table
from app.ui.inputs import as_id, as_whole, require_id
from app.ui.history import FieldHistory, as_version, coded, loaded, wire_restore
from app.ui.place import remembered_chapter
from app.ui.safe_text import md_text
from app.ui.views import chapter_choices, length_label, revision_choices


def chapters_table(shell: Shell, project_id: Any) -> str:
    ident = as_id(project_id)
    chapters = shell.studio.chapters.list_chapters(ident) if ident is not None else []
    tr = shell.tr
    language = shell.studio.library.get_project(ident).language if ident is not None and chapters else "en"
    rows = [[c.ordinal, c.title, tr.enum("chapter_status", c.status), length_label(tr, c.text, language)]
            for c in chapters]
    headers = ["#", tr("chapter_title"), tr("chapter_status"), tr("chapter_length")]
    return markdown_table(headers, rows) if rows else tr("chapters_none")


def _listing(shell: Shell, project_id: Any, keep: Any = None) -> tuple[Any, str]:
    """(chapter dropdown update, chapters table) for a project, keeping `keep` selected if present."""
    return dropdown_update(chapter_choices(shell, project_id), keep), chapters_table(shell, project_id)


def wire_open(shell: Shell, chapters, meta, revisions, save_outline,
              panels: tuple[FieldHistory, FieldHistory]) -> Any:
    """`meta`: the (title, status, ordinal, outline) fields of the open chapter; `panels`: the
    title/status and outline histories (each with the version its fields were loaded at). Returns the
    chapter-opening event, for steps that must follow a chapter's loading (the save state)."""
    studio, tr = shell.studio, shell.tr
    meta_panel, outline_panel = panels

    @coded(shell)
    def open_chapter(chapter_id: Any):
        ident = as_id(chapter_id, "chapter")
        if ident is None:
            return ("", "outline", None, "", "", None, "", gr.update(choices=[], value=None),
                    *loaded(shell, meta_panel, None, 0), *loaded(shell, outline_panel, None, 0))
        chapter = studio.chapters.get_chapter(ident)
        return (chapter.title, chapter.status, chapter.ordinal, chapter.outline, chapter.text, chapter.version,
                tr("opened_version", version=chapter.version),
                gr.update(choices=revision_choices(shell, ident), value=None),
                *loaded(shell, meta_panel, chapter, chapter.meta_version),
                *loaded(shell, outline_panel, chapter, chapter.outline_version))

    @coded(shell)
    def save_chapter_outline(chapter_id: Any, version: Any, outline_text: str):
        """Saves the outline based on the version it was opened at; a stale one is refused (text kept)."""
        chapter = studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"),
                                                      base_version=as_version(version), outline=outline_text or "")
        return (tr("outline_saved", title=md_text(chapter.title)),
                *loaded(shell, outline_panel, chapter, chapter.outline_version))

    opened = [*meta, shell.editor, shell.version, shell.status, revisions, meta_panel.version, meta_panel.picker,
              outline_panel.version, outline_panel.picker]
    # a project opens at the chapter last open in it (app/ui/place.py)
    shell.project.change(lambda p: _listing(shell, p, remembered_chapter(shell, p)), [shell.project],
                         [shell.chapter, chapters], api_name="list_chapters")
    opening = shell.chapter.change(open_chapter, [shell.chapter], opened, api_name="open_chapter")
    save_outline.click(save_chapter_outline, [shell.chapter, outline_panel.version, meta[3]],
                       [shell.status, outline_panel.version, outline_panel.picker], api_name="save_outline")
    return opening


def wire_histories(shell: Shell, fields, meta_panel: FieldHistory, outline_panel: FieldHistory) -> None:
    """Restore wiring of the title/status and outline histories (`fields`: title, status, outline)."""
    title, status, outline = fields
    wire_restore(shell, meta_panel, shell.chapter, [title, status], lambda c: [c.title, c.status],
                 lambda c: c.meta_version, shell.status, api_name="restore_chapter_meta_version")
    wire_restore(shell, outline_panel, shell.chapter, [outline], lambda c: [c.outline],
                 lambda c: c.outline_version, shell.status, api_name="restore_outline_version")


def wire_chapter_list(shell: Shell, chapters, meta, buttons, meta_panel: FieldHistory) -> None:
    """`meta`: (title, status, ordinal, outline); `buttons`: (add, rename, move, delete)."""
    studio = shell.studio
    title, status, ordinal, outline = meta
    add, rename, move, delete = buttons

    @guarded
    def add_chapter(project_id: Any, title_text: str, outline_text: str):
        chapter = studio.chapters.add_chapter(require_id(project_id, "project"), title=title_text or "",
                                              outline=outline_text or "")
        return _listing(shell, project_id, chapter.id)

    @coded(shell)
    def rename_chapter(project_id: Any, chapter_id: Any, version: Any, title_text: str, status_name: str):
        """Saves title and status based on the version they were opened at (stale: refused, fields kept)."""
        chapter = studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"), base_version=as_version(version),
                                                      title=title_text or "", status=status_name or "outline")
        return (*_listing(shell, project_id, chapter_id), *loaded(shell, meta_panel, chapter, chapter.meta_version))

    @guarded
    def move_chapter(project_id: Any, chapter_id: Any, new_ordinal: Any):
        studio.chapters.move_chapter(require_id(chapter_id, "chapter"),
                                     as_whole(new_ordinal, "ordinal", 1, 2**31 - 1, default=1))
        return _listing(shell, project_id, chapter_id)

    @guarded
    def delete_chapter(project_id: Any, chapter_id: Any):
        studio.chapters.delete_chapter(require_id(chapter_id, "chapter"))
        return _listing(shell, project_id)

    header = [shell.chapter, chapters]
    add.click(add_chapter, [shell.project, title, outline], header, api_name="add_chapter")
    rename.click(rename_chapter, [shell.project, shell.chapter, meta_panel.version, title, status],
                 [*header, meta_panel.version, meta_panel.picker], api_name="rename_chapter")
    move.click(move_chapter, [shell.project, shell.chapter, ordinal], header, api_name="move_chapter")
    delete.click(delete_chapter, [shell.project, shell.chapter], header, api_name="delete_chapter")



def wire_table_follow(shell: Shell, chapters: Any, timer: Any, shown: Any) -> None:
    """The chapters table follows the open chapter's stored versions (saved, autosaved, accepted,
    restored): at each editor tick, when the version differs from the one the table last showed, the
    table is rebuilt. A tick rather than an event on the version: nothing chains on the version's change,
    which the desk's save state and editor steps listen to. `shown`: a gr.State made inside the desk's
    tab (a component made here would land in the Tabs themselves and shift the tab bar's labels),
    holding [chapter id, version] of what the table last showed."""

    @guarded
    def follow(project_id: Any, chapter_id: Any, last: Any):
        ident = as_id(chapter_id)
        if ident is None:
            return gr.skip(), gr.skip()
        now = [ident, shell.studio.chapters.get_chapter(ident).version]
        if last == now:
            return gr.skip(), gr.skip()
        return chapters_table(shell, project_id), now

    timer.tick(follow, [shell.project, shell.chapter, shown], [chapters, shown], show_progress="hidden",
               api_visibility="private")
