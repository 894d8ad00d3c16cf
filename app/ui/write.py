"""The Write tab: chapter list (add, reorder, rename, delete), outline, the editor with revision history,
and streamed draft / continue / brainstorm with a Stop button.

Invariant: `shell.version` holds the chapter version the editor was loaded at; every save or accept
passes it as `base_version`, so a stale tab's save is refused with the studio's conflict message and
the editor keeps the writer's text.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import CHAPTER_STATUSES, SaveConflict, join_passage
from app.ui.common import (
    Shell,
    as_id,
    as_seed,
    as_whole,
    conflict_message,
    dropdown_update,
    guarded,
    markdown_table,
    require_id,
    stream,
    sync_editor,
    wire_stop,
)
from app.ui.history import FieldHistory, adopt_model_save, as_version, coded, history_panel, loaded, wire_restore
from app.ui.place import remembered_chapter
from app.ui.safe_text import md_text
from app.ui.views import chapter_choices, length_label, revision_choices, saved_outputs

def chapters_table(shell: Shell, project_id: Any) -> str:
    ident = as_id(project_id)
    chapters = shell.studio.chapters.list_chapters(ident) if ident is not None else []
    tr = shell.tr
    language = shell.studio.library.get_project(ident).language if ident is not None and chapters else "en"
    rows = [[c.ordinal, c.title, tr.enum("chapter_status", c.status), length_label(tr, c.text, language)]
            for c in chapters]
    headers = ["#", tr("chapter_title"), tr("chapter_status"), tr("chapter_length")]
    return markdown_table(headers, rows) if rows else tr("chapters_none")


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_write", id="write"):
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                chapters = gr.Markdown(elem_id="chapters-table")
                title = tr.make(gr.Textbox, "chapter_title", elem_id="chapter-title")
                statuses = tr.enum_choices("chapter_status", list(CHAPTER_STATUSES))
                status = tr.with_choices(tr.make(gr.Dropdown, "chapter_status", choices=statuses(tr.language),
                                                 value="outline"), statuses)
                with gr.Row():
                    add = tr.button("add_chapter", size="sm", elem_id="add-chapter")
                    rename = tr.button("rename_chapter", size="sm")
                with gr.Row():
                    ordinal = tr.make(gr.Number, "chapter_ordinal", precision=None, value=1)  # checked by as_whole
                    move = tr.button("move_chapter", size="sm")
                delete = tr.button("delete_chapter", size="sm", variant="stop")
                meta_panel = history_panel(shell, "chapter", "meta", "chapter-meta")
                outline = tr.make(gr.Textbox, "chapter_outline", lines=6, elem_id="chapter-outline")
                save_outline = tr.button("save_outline", size="sm", elem_id="save-outline")
                outline_panel = history_panel(shell, "chapter", "outline", "chapter-outline")
            with gr.Column(scale=3):
                shell.editor = tr.make(gr.Textbox, "editor", lines=18, max_lines=40, elem_id="editor")
                with gr.Row():
                    save = tr.button("save_chapter", variant="primary", elem_id="save-chapter", min_width=90)
                    seed = tr.make(gr.Number, "seed", precision=None, value=-1, min_width=90)
                    draft = tr.button("draft", elem_id="draft", min_width=90)
                    cont = tr.button("continue", elem_id="continue", min_width=90)
                    brainstorm = tr.button("brainstorm", elem_id="brainstorm", min_width=90)
                    stop = tr.button("stop", variant="stop", elem_id="stop-write", min_width=90)
                shell.status = gr.Markdown(elem_id="write-status")
                ideas = tr.make(gr.Textbox, "brainstorm_output", lines=5, interactive=False, elem_id="ideas")
                with tr.make(gr.Accordion, "revisions", open=False):
                    revisions = shell.revisions = tr.make(gr.Dropdown, "revision", choices=[],
                                                          allow_custom_value=True)
                    preview = tr.make(gr.Textbox, "revision_text", lines=6, interactive=False)
                    restore = tr.button("restore_revision")
    _wire_open(shell, chapters, (title, status, ordinal, outline), revisions, save_outline, (meta_panel, outline_panel))
    _wire_chapter_list(shell, chapters, (title, status, ordinal, outline), add, rename, move, delete, meta_panel)
    _wire_histories(shell, (title, status, outline), meta_panel, outline_panel)
    _wire_editor(shell, revisions, preview, save, restore)
    _wire_generation(shell, seed, ideas, draft, cont, brainstorm, stop, revisions, (status, meta_panel))


def _listing(shell: Shell, project_id: Any, keep: Any = None) -> tuple[Any, str]:
    """(chapter dropdown update, chapters table) for a project, keeping `keep` selected if present."""
    return dropdown_update(chapter_choices(shell, project_id), keep), chapters_table(shell, project_id)


def _wire_open(shell: Shell, chapters, meta, revisions, save_outline,
               panels: tuple[FieldHistory, FieldHistory]) -> None:
    """`meta`: the (title, status, ordinal, outline) fields of the open chapter; `panels`: the
    title/status and outline histories (each with the version its fields were loaded at)."""
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
        return (tr("outline_saved", title=md_text(chapter.title)), *loaded(shell, outline_panel, chapter, chapter.outline_version))

    opened = [*meta, shell.editor, shell.version, shell.status, revisions, meta_panel.version, meta_panel.picker,
              outline_panel.version, outline_panel.picker]
    # a project opens at the chapter last open in it (app/ui/place.py)
    shell.project.change(lambda p: _listing(shell, p, remembered_chapter(shell, p)), [shell.project],
                         [shell.chapter, chapters], api_name="list_chapters")
    shell.chapter.change(open_chapter, [shell.chapter], opened, api_name="open_chapter")
    save_outline.click(save_chapter_outline, [shell.chapter, outline_panel.version, meta[3]],
                       [shell.status, outline_panel.version, outline_panel.picker], api_name="save_outline")


def _wire_histories(shell: Shell, fields, meta_panel: FieldHistory, outline_panel: FieldHistory) -> None:
    """Restore wiring of the title/status and outline histories (`fields`: title, status, outline)."""
    title, status, outline = fields
    wire_restore(shell, meta_panel, shell.chapter, [title, status], lambda c: [c.title, c.status],
                 lambda c: c.meta_version, shell.status, api_name="restore_chapter_meta_version")
    wire_restore(shell, outline_panel, shell.chapter, [outline], lambda c: [c.outline],
                 lambda c: c.outline_version, shell.status, api_name="restore_outline_version")


def _wire_chapter_list(shell: Shell, chapters, meta, add, rename, move, delete, meta_panel: FieldHistory) -> None:
    studio = shell.studio
    title, status, ordinal, outline = meta

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


def _wire_editor(shell: Shell, revisions, preview, save, restore) -> None:
    studio = shell.studio

    @guarded
    def save_chapter(chapter_id: Any, text: str, base_version: Any):
        try:
            chapter = studio.chapters.save_chapter(require_id(chapter_id, "chapter"), text or "", base_version)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip()
        return saved_outputs(shell, chapter, "saved_version")

    @guarded
    def show_revision(chapter_id: Any, revision_id: Any):
        ident, chapter = as_id(revision_id), as_id(chapter_id)
        if ident is None or chapter is None:
            return ""
        return next((r.text for r in studio.chapters.list_revisions(chapter) if r.id == ident), "")

    @guarded
    def restore_revision(chapter_id: Any, revision_id: Any, editor_text: str | None, base_version: Any):
        ident = require_id(chapter_id, "chapter")
        try:  # unsaved editor text becomes a revision first, so restoring never loses it
            chapter = sync_editor(shell, ident, editor_text, base_version)
            chapter = studio.chapters.restore_revision(require_id(revision_id, "revision"), chapter.version, chapter_id=ident)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip()
        return saved_outputs(shell, chapter, "restored_version")

    changed = [shell.editor, shell.version, shell.status, revisions]
    save.click(save_chapter, [shell.chapter, shell.editor, shell.version], changed, api_name="save_chapter")
    revisions.change(show_revision, [shell.chapter, revisions], [preview], api_visibility="private")
    restore.click(restore_revision, [shell.chapter, revisions, shell.editor, shell.version], changed,
                  api_name="restore_revision")


def _synced(shell: Shell, chapter_id: Any, editor_text: str | None, base_version: Any):
    """(chapter id, chapter after saving the editor's unsaved text); SaveConflict when stale."""
    ident = require_id(chapter_id, "chapter")
    return ident, sync_editor(shell, ident, editor_text, base_version)


def _chapter_stream(shell: Shell, task: str, start, chapter_id: Any, editor_text: str | None, base_version: Any,
                    seed_value: Any, request: gr.Request):
    """Draft/continue streamed into the editor (after saving its unsaved text): (editor, version, status,
    revisions) updates; the preview is exactly what the studio will save."""
    studio, tr = shell.studio, shell.tr
    try:
        ident, chapter = _synced(shell, chapter_id, editor_text, base_version)
    except SaveConflict as conflict:  # nothing generated, the editor keeps its text
        yield gr.skip(), gr.skip(), conflict_message(conflict), gr.skip()
        return
    base = chapter.text
    yield gr.skip(), chapter.version, tr("generating"), gr.skip()
    for update in stream(shell, request, start(ident, seed=as_seed(seed_value))):
        streamed = update.texts[0] if update.texts else ""
        if update.done:  # the final update carries the chapter (and its new version) when it changed
            chapter = update.chapter or studio.chapters.get_chapter(ident)
            reason = update.finish_reasons[0] if update.finish_reasons else ""
            yield (chapter.text, chapter.version, tr("generation_done", reason=tr.enum("finish", reason),
                                                      version=chapter.version),
                   gr.update(choices=revision_choices(shell, ident), value=None))
        else:  # preview exactly what will be saved, so the text does not jump at the end
            yield join_passage(base, streamed, task), gr.skip(), tr("generating"), gr.skip()


def _wire_generation(shell: Shell, seed, ideas, draft, cont, brainstorm, stop, revisions,
                     meta: tuple[Any, FieldHistory]) -> None:
    studio, tr = shell.studio, shell.tr
    status, meta_panel = meta

    @guarded
    def after_draft(chapter_id: Any, shown_version: Any):
        """A draft moves the status from outline to draft (the model's save): the tab adopts it."""
        ident = as_id(chapter_id, "chapter")
        chapter = studio.chapters.get_chapter(ident) if ident is not None else None
        adopted = adopt_model_save(shell, meta_panel, chapter, shown_version, chapter.meta_version if chapter else -1)
        return (chapter.status if chapter is not None and isinstance(adopted[0], int) else gr.skip()), *adopted

    @guarded
    def draft_chapter(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any,
                      request: gr.Request):
        yield from _chapter_stream(shell, "draft", studio.writing.draft_chapter, chapter_id, editor_text, base_version, seed_value,
                                  request)

    @guarded
    def continue_chapter(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any,
                         request: gr.Request):
        yield from _chapter_stream(shell, "continue", studio.writing.continue_chapter, chapter_id, editor_text, base_version,
                                  seed_value, request)

    @guarded
    def brainstorm_ideas(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any,
                         request: gr.Request):
        try:
            ident, chapter = _synced(shell, chapter_id, editor_text, base_version)
        except SaveConflict as conflict:
            yield gr.skip(), gr.skip(), conflict_message(conflict)
            return
        yield gr.skip(), chapter.version, tr("generating")
        for update in stream(shell, request, studio.writing.brainstorm(ident, seed=as_seed(seed_value))):
            yield (update.texts[0] if update.texts else ""), gr.skip(), gr.skip()

    inputs, out = [shell.chapter, shell.editor, shell.version, seed], [shell.editor, shell.version, shell.status, revisions]
    draft.click(draft_chapter, inputs, out, api_name="draft").then(
        after_draft, [shell.chapter, meta_panel.version], [status, meta_panel.version, meta_panel.picker],
        api_visibility="private")
    cont.click(continue_chapter, inputs, out, api_name="continue")
    brainstorm.click(brainstorm_ideas, inputs, [ideas, shell.version, shell.status], api_name="brainstorm")
    wire_stop(shell, stop, shell.status, api_name="stop_writing")
