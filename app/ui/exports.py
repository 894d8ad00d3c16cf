"""The Export / Import tab: the whole book or one chapter to Markdown, EPUB or plain text (downloadable),
and a manuscript (.md/.txt) imported and split into chapters at its headings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, require_id
from app.ui.views import chapter_choices

FORMATS = [("Markdown", "md"), ("EPUB", "epub"), ("Plain text", "txt")]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_export", id="export"):
        with gr.Row():
            with gr.Column():
                tr.markdown("export_heading")
                scope = tr.make(gr.Radio, "export_scope", choices=[(tr("scope_book"), "book"),
                                                                   (tr("scope_chapter"), "chapter")], value="book")
                fmt = tr.make(gr.Radio, "export_format", choices=FORMATS, value="md", elem_id="export-format")
                with gr.Row():
                    toc = tr.make(gr.Checkbox, "include_toc", value=True)
                    synopsis = tr.make(gr.Checkbox, "include_synopsis", value=True)
                run = tr.button("export", variant="primary", elem_id="export")
                exported = tr.make(gr.File, "exported_file", interactive=False, elem_id="exported-file")
            with gr.Column():
                tr.markdown("import_heading")
                manuscript = tr.make(gr.File, "manuscript", file_types=[".md", ".txt"], type="filepath",
                                     elem_id="manuscript")
                status = gr.Markdown(elem_id="import-status")
    _wire(shell, scope, fmt, toc, synopsis, run, exported, manuscript, status)


def _wire(shell: Shell, scope, fmt, toc, synopsis, run, exported, manuscript, status) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def export_book(project_id: Any, chapter_id: Any, scope_name: str, fmt_name: str, with_toc: bool,
                    with_synopsis: bool):
        if scope_name == "chapter":
            return str(studio.exchange.export_chapter(require_id(chapter_id, "chapter"), fmt_name or "md"))
        path = studio.exchange.export_book(require_id(project_id, "project"), fmt_name or "md",
                                  include_toc=bool(with_toc), include_synopsis=bool(with_synopsis))
        return str(path)

    @guarded
    def import_manuscript(project_id: Any, path: str | None):
        if not path:
            raise gr.Error(tr("choose_file"))
        chapters = studio.exchange.import_manuscript(require_id(project_id, "project"), Path(path).name,
                                            Path(path).read_bytes())
        first = chapters[0].id if chapters else None
        return (tr("imported_chapters", count=len(chapters)),
                gr.update(choices=chapter_choices(shell, project_id), value=first))

    run.click(export_book, [shell.project, shell.chapter, scope, fmt, toc, synopsis], [exported],
              api_name="export_book")
    manuscript.upload(import_manuscript, [shell.project, manuscript], [status, shell.chapter],
                      api_name="import_manuscript")
