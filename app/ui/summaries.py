"""The Summaries tab: summarize a chapter with the model (streamed), edit and save the summary that story
memory uses in place of chapters that no longer fit, and see every chapter's summary at a glance.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import (
    Shell,
    as_id,
    as_seed,
    guarded,
    markdown_table,
    require_id,
    stream,
    wire_stop,
)


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
            seed = tr.make(gr.Number, "seed", precision=0, value=-1)
            run = tr.button("summarize", variant="primary", elem_id="summarize")
            stop = tr.button("stop", variant="stop")
            save = tr.button("save_summary", elem_id="save-summary")
        status = gr.Markdown()
        table = gr.Markdown(elem_id="summaries-table")
    _wire(shell, summary, seed, run, stop, save, status, table)


def _wire(shell: Shell, summary, seed, run, stop, save, status, table) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def load_summary(project_id: Any, chapter_id: Any):
        ident = as_id(chapter_id)
        text = studio.chapters.get_chapter(ident).summary if ident is not None else ""
        return text, summaries_table(shell, project_id)

    @guarded
    def summarize(project_id: Any, chapter_id: Any, seed_value: Any, request: gr.Request):
        ident = require_id(chapter_id, "chapter")
        for update in stream(shell, request, studio.writing.summarize_chapter(ident, seed=as_seed(seed_value))):
            text = update.texts[0] if update.texts else ""
            if update.done:  # the studio saves the summary only for a finished one (then `chapter` is set)
                reason = update.finish_reasons[0] if update.finish_reasons else ""
                said = tr("summary_saved") if update.chapter is not None else tr("summary_not_saved", reason=reason)
                yield text, said, summaries_table(shell, project_id)
            else:
                yield text, tr("generating"), gr.skip()

    @guarded
    def save_summary(project_id: Any, chapter_id: Any, text: str):
        studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"), summary=text or "")
        return tr("summary_saved"), summaries_table(shell, project_id)

    shell.chapter.change(load_summary, [shell.project, shell.chapter], [summary, table], api_visibility="private")
    shell.project.change(lambda p: summaries_table(shell, p), [shell.project], [table], api_visibility="private")
    run.click(summarize, [shell.project, shell.chapter, seed], [summary, status, table],
                      api_name="summarize")
    save.click(save_summary, [shell.project, shell.chapter, summary], [status, table], api_name="save_summary")
    wire_stop(shell, stop, status)
