"""The desk's side panel for the open chapter: its outline and summary, the characters and lore story memory
picks from the recent text (detected ones highlighted, pinned ones marked), and a compact bar of the
next prompt's token budget.

Invariant: the memory view is the studio's own preview of the next Continue (the same plan the prompt
inspector shows), refreshed when a chapter opens and whenever its version changes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, stream
from app.ui.inputs import as_id, as_seed, require_id
from app.ui.history import FieldHistory, adopt_model_save, as_version, coded, history_panel, loaded, wire_restore

MEMORY_COLORS = {"★": "#6a1b9a", "✓": "#1565c0", "·": "#9e9e9e"}
MEMORY_SECTIONS = ("characters", "lore_before", "lore_after", "at_depth")


@dataclass
class Panel:
    outline: Any
    save_outline: Any
    summary: Any
    summarize: Any
    save_summary: Any
    summary_status: Any
    memory: Any
    budget: Any
    refresh: Any
    summarize_all: Any
    outline_history: FieldHistory
    summary_history: FieldHistory


def build(shell: Shell) -> Panel:
    tr = shell.tr
    outline = tr.make(gr.Textbox, "chapter_outline", lines=4, elem_id="chapter-outline")
    save_outline = tr.button("save_outline", size="sm", elem_id="save-outline")
    outline_history = history_panel(shell, "chapter", "outline", "chapter-outline")
    with tr.make(gr.Accordion, "summary", open=False, elem_id="desk-summary-box"):
        summary = tr.make(gr.Textbox, "summary", lines=4, show_label=False, elem_id="desk-summary")
        with gr.Row():
            summarize = tr.button("summarize", size="sm", elem_id="desk-summarize")
            save_summary = tr.button("save_summary", size="sm", elem_id="desk-save-summary")
        summary_status = gr.Markdown(elem_id="desk-summary-status")
        summarize_all = tr.button("desk_summarize_all", size="sm", elem_id="desk-summarize-all")
        summary_history = history_panel(shell, "chapter", "summary", "desk-summary")
    tr.markdown("desk_memory_heading")
    memory = tr.make(gr.HighlightedText, "desk_memory", show_label=False, combine_adjacent=False,
                     show_legend=False, color_map=MEMORY_COLORS, elem_id="desk-memory")
    budget = gr.HTML(elem_id="desk-budget")
    refresh = tr.button("desk_memory_refresh", size="sm", elem_id="desk-memory-refresh")
    return Panel(outline, save_outline, summary, summarize, save_summary, summary_status, memory, budget, refresh,
                 summarize_all, outline_history, summary_history)


def budget_bar(used: int, budget: int, label: str) -> str:
    """A compact bar of the next prompt's token budget (HTML; the label is escaped)."""
    share = min(100.0, 100.0 * used / budget) if budget else 0.0
    colour = "#2e7d32" if share < 85 else "#ef6c00" if share < 100 else "#c62828"
    return (f'<div class="desk-budget" title="{used} / {budget}"><small>{html.escape(label)} · {used} / {budget} '
            f'({share:.0f}%)</small><div style="background:#ddd;height:8px;border-radius:4px" id="desk-budget-bar">'
            f'<div style="width:{share:.1f}%;background:{colour};height:8px;border-radius:4px"></div></div></div>')


def memory_spans(plan: Any) -> list[tuple[str, str | None]]:
    """Characters and lore entries of the plan: ★ pinned, ✓ detected/included, · left out."""
    spans: list[tuple[str, str | None]] = []
    for section in plan.sections:
        if section.name not in MEMORY_SECTIONS:
            continue
        for item in section.items:
            mark = "·" if item.status == "left_out" else "★" if "pinned" in item.reason else "✓"
            spans.append((f" {item.label} ", mark))
    return spans


def wire(shell: Shell, panel: Panel) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def desk_refresh(chapter_id: Any):
        ident = as_id(chapter_id)
        if ident is None:
            return [], ""
        plan = studio.writing.preview_context(ident, "continue")
        spans = memory_spans(plan)
        return spans or [(tr("desk_memory_none"), None)], budget_bar(plan.used_tokens, plan.budget,
                                                                      tr("desk_next_prompt"))

    history = panel.summary_history

    @coded(shell)
    def desk_load_summary(chapter_id: Any):
        ident = as_id(chapter_id, "chapter")
        chapter = studio.chapters.get_chapter(ident) if ident is not None else None
        return (chapter.summary if chapter else "",
                *loaded(shell, history, chapter, chapter.summary_version if chapter else 0))

    @guarded
    def desk_summarize(chapter_id: Any, shown_version: Any, request: gr.Request):
        ident = require_id(chapter_id, "chapter")
        for update in stream(shell, request, studio.writing.summarize_chapter(ident, seed=as_seed(None))):
            text = update.texts[0] if update.texts else ""
            if update.done:  # saved only when finished; the panel adopts that model save (history.py)
                reason = update.finish_reasons[0] if update.finish_reasons else ""
                chapter = update.chapter
                said = (tr("summary_saved") if chapter is not None
                        else tr("summary_not_saved", reason=tr.enum("finish", reason)))
                yield text, said, *adopt_model_save(shell, history, chapter, shown_version,
                                                    chapter.summary_version if chapter else -1)
            else:
                yield text, tr("generating"), gr.skip(), gr.skip()

    @coded(shell)
    def desk_save_summary(chapter_id: Any, version: Any, text: str):
        """Saves the summary based on the version it was opened at; a stale one is refused (text kept)."""
        chapter = studio.chapters.update_chapter_meta(require_id(chapter_id, "chapter"),
                                                      base_version=as_version(version), summary=text or "")
        return tr("summary_saved"), *loaded(shell, history, chapter, chapter.summary_version)

    @guarded
    def summarize_all(project_id: Any, request: gr.Request, progress: gr.Progress = gr.Progress()):
        """Summarize every chapter that has text but no summary, one after another, with progress.

        Stop ends the chapter being summarized (its summary is saved only if it finished) and the loop;
        running it again picks up the chapters still without a summary."""
        project = require_id(project_id, "project")
        todo = [c for c in studio.chapters.list_chapters(project) if c.text.strip() and not c.summary.strip()]
        done = 0
        for index, chapter in enumerate(todo):
            progress((index, len(todo)), desc=tr("desk_summarizing", title=chapter.title or "—"))
            reason = ""
            for update in stream(shell, request, studio.writing.summarize_chapter(chapter.id)):
                reason = update.finish_reasons[0] if update.done and update.finish_reasons else reason
                done += bool(update.done and update.chapter is not None)
            if reason == "cancelled":
                return tr("desk_summaries_stopped", done=done, left=len(todo) - done)
        progress((len(todo), len(todo)), desc=tr("desk_summaries_done", done=done, total=len(todo)))
        return tr("desk_summaries_done", done=done, total=len(todo))

    panel.summarize_all.click(summarize_all, [shell.project], [panel.summary_status], api_name="summarize_all")
    shown = [panel.memory, panel.budget]
    shell.chapter.change(desk_refresh, [shell.chapter], shown, show_progress="hidden", api_visibility="private")
    shell.version.change(desk_refresh, [shell.chapter], shown, show_progress="hidden", api_visibility="private")
    panel.refresh.click(desk_refresh, [shell.chapter], shown, api_name="desk_memory")
    versioned = [history.version, history.picker]
    shell.chapter.change(desk_load_summary, [shell.chapter], [panel.summary, *versioned], api_visibility="private")
    panel.summarize.click(desk_summarize, [shell.chapter, history.version],
                          [panel.summary, panel.summary_status, *versioned], api_visibility="private")
    panel.save_summary.click(desk_save_summary, [shell.chapter, history.version, panel.summary],
                             [panel.summary_status, *versioned], api_visibility="private")
    wire_restore(shell, history, shell.chapter, [panel.summary], lambda c: [c.summary], lambda c: c.summary_version,
                 panel.summary_status, api_name="restore_desk_summary_version")
