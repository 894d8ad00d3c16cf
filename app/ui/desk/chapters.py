"""The desk's chapter list and chapter opening: list, add, rename, reorder, delete; opening a chapter loads
its title, status, position, outline, text and version (moved here from the former Write tab).

Invariant: `shell.version` holds the chapter version the editor was loaded at; every save or accept
passes it as `base_version`, so a stale tab's save is refused with the studio's conflict message and
the editor keeps the writer's text.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, as_id, dropdown_update, guarded, markdown_table, require_id
from app.ui.views import chapter_choices, revision_choices


def chapters_table(shell: Shell, project_id: Any) -> str:
    ident = as_id(project_id)
    chapters = shell.studio.chapters.list_chapters(ident) if ident is not None else []
    tr = shell.tr
    rows = [[c.ordinal, c.title, c.status] for c in chapters]
    return markdown_table(["#", tr("chapter_title"), tr("chapter_status")], rows) if rows else tr("chapters_none")


def _listing(shell: Shell, project_id: Any, keep: Any = None) -> tuple[Any, str]:
    """(chapter dropdown update, chapters table) for a project, keeping `keep` selected if present."""
    return dropdown_update(chapter_choices(shell, project_id), keep), chapters_table(shell, project_id)


def wire_open(shell: Shell, chapters, meta, revisions, save_outline) -> None:
    """`meta`: the (title, status, ordinal, outline) fields of the open chapter."""
    studio, tr = shell.studio, shell.tr

    @guarded
    def open_chapter(chapter_id: Any):
        ident = as_id(chapter_id)
        if ident is None:
            return "", "outline", None, "", "", None, "", gr.update(choices=[], value=None)
        chapter = studio.chapters.get_chapter(ident)
        return (chapter.title, chapter.status, chapter.ordinal, chapter.outline, chapter.text, chapter.version,
                tr("opened_version", version=chapter.version),
                gr.update(choices=revision_choices(shell, ident), value=None))

    @guarded
    def save_chapter_outline(chapter_id: Any, outline_text: str):
        chapter = studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"), outline=outline_text or "")
        return tr("outline_saved", title=chapter.title)

    opened = [*meta, shell.editor, shell.version, shell.status, revisions]
    shell.project.change(lambda p: _listing(shell, p), [shell.project], [shell.chapter, chapters],
                         api_name="list_chapters")
    shell.chapter.change(open_chapter, [shell.chapter], opened, api_name="open_chapter")
    save_outline.click(save_chapter_outline, [shell.chapter, meta[3]], [shell.status], api_name="save_outline")


def wire_chapter_list(shell: Shell, chapters, meta, add, rename, move, delete) -> None:
    studio = shell.studio
    title, status, ordinal, outline = meta

    @guarded
    def add_chapter(project_id: Any, title_text: str, outline_text: str):
        chapter = studio.chapters.add_chapter(require_id(project_id, "project"), title=title_text or "",
                                     outline=outline_text or "")
        return _listing(shell, project_id, chapter.id)

    @guarded
    def rename_chapter(project_id: Any, chapter_id: Any, title_text: str, status_name: str):
        studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"), title=title_text or "",
                                   status=status_name or "outline")
        return _listing(shell, project_id, chapter_id)

    @guarded
    def move_chapter(project_id: Any, chapter_id: Any, new_ordinal: Any):
        studio.chapters.move_chapter(require_id(chapter_id, "chapter"), int(new_ordinal or 1))
        return _listing(shell, project_id, chapter_id)

    @guarded
    def delete_chapter(project_id: Any, chapter_id: Any):
        studio.chapters.delete_chapter(require_id(chapter_id, "chapter"))
        return _listing(shell, project_id)

    header = [shell.chapter, chapters]
    add.click(add_chapter, [shell.project, title, outline], header, api_name="add_chapter")
    rename.click(rename_chapter, [shell.project, shell.chapter, title, status], header, api_name="rename_chapter")
    move.click(move_chapter, [shell.project, shell.chapter, ordinal], header, api_name="move_chapter")
    delete.click(delete_chapter, [shell.project, shell.chapter], header, api_name="delete_chapter")
