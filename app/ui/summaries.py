"""The Summaries tab: summarize a chapter with the model (streamed), edit and save the summary that story
memory uses in place of chapters that no longer fit, and see every chapter's summary at a glance.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, markdown_table, stream, wire_stop
from app.ui.inputs import as_id, as_seed, require_id
from app.ui.history import FieldHistory, adopt_model_save, as_version, coded, history_panel, loaded, wire_restore


def summaries_table(shell: Shell, project_id: Any) -> str:
    ident = as_id(project_id)
    chapters = shell.studio.chapters.list_chapters(ident) if ident is not None else []
    rows = [[c.ordinal, c.title, c.summary or "—"] for c in chapters]
    tr = shell.tr
    return markdown_table(["#", tr("chapter_title"), tr("summary")], rows) if rows else tr("chapters_none")


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_summaries", id="summaries"):
        summary = tr.make(gr.Textbox, "summary", lines=6, elem_id="summary")
        with gr.Row():
            seed = tr.make(gr.Number, "seed", precision=None, value=-1)
            run = tr.button("summarize", variant="primary", elem_id="summarize")
            stop = tr.button("stop", variant="stop")
            save = tr.button("save_summary", elem_id="save-summary")
        status = gr.Markdown(elem_id="summary-status")
        panel = history_panel(shell, "chapter", "summary", "summary")
        table = gr.Markdown(elem_id="summaries-table")
    _wire(shell, summary, seed, run, stop, save, status, table, panel)
    wire_restore(shell, panel, shell.chapter, [summary], lambda c: [c.summary], lambda c: c.summary_version, status,
                 api_name="restore_summary_version")


def _wire(shell: Shell, summary, seed, run, stop, save, status, table, panel: FieldHistory) -> None:
    studio, tr = shell.studio, shell.tr

    @coded(shell)
    def load_summary(project_id: Any, chapter_id: Any):
        ident = as_id(chapter_id, "chapter")
        chapter = studio.chapters.get_chapter(ident) if ident is not None else None
        return (chapter.summary if chapter else "", summaries_table(shell, project_id),
                *loaded(shell, panel, chapter, chapter.summary_version if chapter else 0))

    @guarded
    def summarize(project_id: Any, chapter_id: Any, shown_version: Any, seed_value: Any, request: gr.Request):
        ident = require_id(chapter_id, "chapter")
        for update in stream(shell, request, studio.writing.summarize_chapter(ident, seed=as_seed(seed_value))):
            text = update.texts[0] if update.texts else ""
            if update.done:  # the studio saves the summary only for a finished one (then `chapter` is set)
                reason = update.finish_reasons[0] if update.finish_reasons else ""
                said = tr("summary_saved") if update.chapter is not None else tr("summary_not_saved", reason=tr.enum("finish", reason))
                chapter = update.chapter
                adopted = adopt_model_save(shell, panel, chapter, shown_version,
                                           chapter.summary_version if chapter else -1)
                yield text, said, summaries_table(shell, project_id), *adopted
            else:
                yield text, tr("generating"), gr.skip(), gr.skip(), gr.skip()

    @coded(shell)
    def save_summary(project_id: Any, chapter_id: Any, version: Any, text: str):
        """Saves the summary based on the version it was opened at; a stale one is refused (text kept)."""
        chapter = studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"),
                                                      base_version=as_version(version), summary=text or "")
        return (tr("summary_saved"), summaries_table(shell, project_id),
                *loaded(shell, panel, chapter, chapter.summary_version))

    shell.chapter.change(load_summary, [shell.project, shell.chapter], [summary, table, panel.version, panel.picker],
                         api_name="open_summary")
    shell.project.change(lambda p: summaries_table(shell, p), [shell.project], [table], api_visibility="private")
    run.click(summarize, [shell.project, shell.chapter, panel.version, seed],
              [summary, status, table, panel.version, panel.picker], api_name="summarize")
    save.click(save_summary, [shell.project, shell.chapter, panel.version, summary],
               [status, table, panel.version, panel.picker], api_name="save_summary")
    wire_stop(shell, stop, status)
