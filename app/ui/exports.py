"""The Export / Import tab: the whole book or one chapter to Markdown, EPUB or plain text (downloadable),
and a manuscript (.md/.txt) split into chapters at its headings: on upload the split is previewed
(encoding, chapters, skipped Gutenberg/contents parts), then imported into this project or a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded
from app.ui.inputs import require_id
from app.ui.translator import writer_error
from app.ui.strings import t
from app.ui.safe_text import md_text
from app.ui.views import chapter_choices, project_choices

FORMATS = [("Markdown", "md"), ("EPUB", "epub"), ("format_text", "txt")]  # names, or a string key
MAX_LISTED = 40  # chapters listed in the import preview



IMPORT_STAGES = ("import.read", "import.check", "import.split", "import.save")
EXPORT_STAGES = ("export.collect", "export.write")


def staged(shell: Shell, progress: Any, stages: tuple[str, ...]) -> Callable[[str], None]:
    """A studio stage listener that moves the handler's progress bar: stage i of n, worded in the page's
    language (catalogue key "stage_" + code)."""

    def stage(code: str) -> None:
        step = stages.index(code) if code in stages else 0
        progress((step, len(stages)), desc=shell.tr(f"stage_{code.replace('.', '_')}"))

    return stage


def _scopes(language: str) -> list[tuple[str, str]]:
    return [(t(language, "scope_book"), "book"), (t(language, "scope_chapter"), "chapter")]


def _targets(language: str) -> list[tuple[str, str]]:
    return [(t(language, "import_new_project"), "new"), (t(language, "import_append"), "append")]


def _formats(language: str) -> list[tuple[str, str]]:
    return [(t(language, name) if name == "format_text" else name, value) for name, value in FORMATS]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_export", id="export"):
        with gr.Row():
            with gr.Column():
                tr.markdown("export_heading")
                scope = tr.with_choices(tr.make(gr.Radio, "export_scope", choices=_scopes(tr.language), value="book"),
                                        _scopes)
                fmt = tr.with_choices(tr.make(gr.Radio, "export_format", choices=_formats(tr.language), value="md",
                                              elem_id="export-format"), _formats)
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
                # a manuscript goes into a new project unless the writer asks to append it to the open one
                target = tr.with_choices(tr.make(gr.Radio, "import_target", choices=_targets(tr.language),
                                                 value="new", elem_id="import-target"), _targets)
                do_import = tr.button("import_manuscript", variant="primary", elem_id="import-manuscript")
    _wire(shell, scope, fmt, toc, synopsis, run, exported)
    _wire_import(shell, manuscript, status, target, do_import)


def _preview_text(shell: Shell, split: Any) -> str:
    """The split as the writer confirms it: count, encoding, each chapter's title and size, what is skipped."""
    tr = shell.tr
    lines = [tr("import_preview", count=len(split.chapters), encoding=split.encoding), ""]
    lines += [f"{i}. {md_text(c.title or '—')} · {len(c.text)}" for i, c in enumerate(split.chapters[:MAX_LISTED], 1)]
    if len(split.chapters) > MAX_LISTED:
        lines.append("…")
    if split.skipped:
        lines += ["", tr("import_skipped", parts=", ".join(tr(f"skipped_{s.kind}") for s in split.skipped))]
    return "\n".join(lines)


def _wire_import(shell: Shell, manuscript, status, target, do_import) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def preview(path: str | None):
        if not path:
            return ""
        return _preview_text(shell, studio.exchange.preview_manuscript(Path(path).name, Path(path).read_bytes()))

    @guarded
    def import_manuscript(project_id: Any, path: str | None, where: str | None, progress=gr.Progress()):
        if not path:
            raise writer_error(tr("choose_file"))
        stage = staged(shell, progress, IMPORT_STAGES)
        stage("import.read")
        name, data = Path(path).name, Path(path).read_bytes()
        if where == "new":
            chapters = studio.exchange.import_manuscript_as_project(name, data, language=tr.language, progress=stage)
            project_id = chapters[0].project_id if chapters else project_id
        else:
            chapters = studio.exchange.import_manuscript(require_id(project_id, "project"), name, data, progress=stage)
        first = chapters[0].id if chapters else None
        return (tr("imported_chapters", count=len(chapters)),
                gr.update(choices=chapter_choices(shell, project_id), value=first),
                gr.update(choices=project_choices(shell), value=project_id))

    manuscript.upload(preview, [manuscript], [status], api_name="preview_manuscript")
    do_import.click(import_manuscript, [shell.project, manuscript, target], [status, shell.chapter, shell.project],
                    api_name="import_manuscript")


def _wire(shell: Shell, scope, fmt, toc, synopsis, run, exported) -> None:
    studio = shell.studio

    @guarded
    def export_book(project_id: Any, chapter_id: Any, scope_name: str, fmt_name: str, with_toc: bool,
                    with_synopsis: bool, progress=gr.Progress()):
        if scope_name == "chapter":
            return str(studio.exchange.export_chapter(require_id(chapter_id, "chapter"), fmt_name or "md"))
        path = studio.exchange.export_book(require_id(project_id, "project"), fmt_name or "md",
                                           include_toc=bool(with_toc), include_synopsis=bool(with_synopsis),
                                           progress=staged(shell, progress, EXPORT_STAGES))
        return str(path)

    run.click(export_book, [shell.project, shell.chapter, scope, fmt, toc, synopsis], [exported],
              api_name="export_book")
