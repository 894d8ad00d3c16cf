"""The writing desk: the Write tab as one editor-centred page (issue 10).

Layout: chapter list on the left; the chapter editor in the centre with its 字数 and save state, the
action bar (Continue, Draft from outline, N branches, Polish the selection, Brainstorm, Stop) and a
feedback line under it; the branches strip and the polish review open under the editor when there is
something to review; a side panel on the right for the open chapter (outline, summary, characters
and lore that story memory detects, the budget of the next prompt).

Invariants: the editor keeps its `#editor` id and `shell.editor`/`shell.status`/`shell.version`/
`shell.revisions` keep their meaning (other tabs read them); every desk action stays on this page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.studio import CHAPTER_STATUSES, polish_presets
from app.ui.common import Shell
from app.ui.desk import actions, branch_strip, chapters, editor, finder, review, revisions, side_panel
from app.ui.history import history_panel

MAX_BRANCHES = branch_strip.MAX_SHOWN


def preset_choices(language: str) -> list[tuple[str, str]]:
    """(what the preset asks for, preset name), as the polish template of `language` defines them."""
    return [(description, name) for name, description in polish_presets(language).items()]


@dataclass
class Bar:
    """The action bar under the editor."""

    save: Any
    cont: Any
    draft: Any
    branches: Any
    count: Any
    polish: Any
    preset: Any
    brainstorm: Any
    stop: Any
    seed: Any
    feedback: Any
    selected: Any  # Markdown: how much of the editor is selected (what Polish will work on)


def _chapter_column(shell: Shell) -> tuple[Any, tuple[Any, ...], tuple[Any, ...], Any]:
    """(chapters table, (title, status, ordinal), (add, rename, move, delete), title/status history)."""
    tr = shell.tr
    chapters = gr.Markdown(elem_id="chapters-table")
    with tr.make(gr.Accordion, "chapter_settings", open=False, elem_id="chapter-settings"):
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
        meta_history = history_panel(shell, "chapter", "meta", "chapter-meta")
    return chapters, (title, status, ordinal), (add, rename, move, delete), meta_history


def _action_bar(shell: Shell) -> Bar:
    tr = shell.tr
    with gr.Row(elem_id="desk-actions"):
        save = tr.button("save_chapter", size="sm", elem_id="save-chapter", min_width=60, scale=0)
        cont = tr.button("continue", variant="primary", size="sm", elem_id="continue", min_width=60, scale=0)
        draft = tr.button("draft", size="sm", elem_id="draft", min_width=60, scale=0)
        branches = tr.button("desk_branches", size="sm", elem_id="desk-branches", min_width=60, scale=0)
        count = tr.make(gr.Dropdown, "desk_branch_count", choices=[2, 3, 4], value=3, elem_id="desk-branch-count",
                        min_width=70, scale=0, container=False)
        polish = tr.button("desk_polish", size="sm", elem_id="desk-polish", min_width=60, scale=0)
        preset = tr.with_choices(tr.make(gr.Dropdown, "polish_preset", choices=preset_choices(tr.language),
                                         value="tighten", allow_custom_value=True, elem_id="desk-preset",
                                         min_width=120, scale=1, container=False), preset_choices)
        brainstorm = tr.button("brainstorm", size="sm", elem_id="brainstorm", min_width=60, scale=0)
        stop = tr.button("stop", variant="stop", size="sm", elem_id="stop-write", interactive=False, min_width=60, scale=0)
    with gr.Row():
        feedback = gr.Markdown(elem_id="desk-feedback")
        selected = gr.Markdown(elem_id="desk-selection")
    with tr.make(gr.Accordion, "desk_more", open=False):
        seed = tr.make(gr.Number, "seed", precision=None, value=-1, elem_id="desk-seed")  # checked by as_seed
    return Bar(save, cont, draft, branches, count, polish, preset, brainstorm, stop, seed, feedback, selected)


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_write", id="write"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=200, elem_id="desk-left"):
                listing, meta, buttons, meta_history = _chapter_column(shell)
            with gr.Column(scale=5, elem_id="desk-centre"):
                state = editor.build(shell)
                bar = _action_bar(shell)
                shell.status = gr.Markdown(elem_id="write-status")
                strip = branch_strip.build(shell)
                polish_review = review.build(shell)
                ideas = tr.make(gr.Textbox, "brainstorm_output", lines=4, interactive=False, elem_id="ideas",
                                visible=False)
                history = revisions.build(shell)
                table_shown = gr.State(None)  # what the chapters table last showed (chapters.py)
            with gr.Column(scale=2, min_width=260, elem_id="desk-side"):
                search = finder.build(shell)
                panel = side_panel.build(shell)
    title, status, ordinal = meta
    fields = (title, status, ordinal, panel.outline)
    histories = (meta_history, panel.outline_history)
    opening = chapters.wire_open(shell, listing, fields, shell.revisions, panel.save_outline, histories)
    chapters.wire_chapter_list(shell, listing, fields, buttons, meta_history)
    chapters.wire_histories(shell, (title, status, panel.outline), *histories)
    editor.wire(shell, state, bar.save, opening)
    chapters.wire_table_follow(shell, listing, state.timer, table_shown)
    actions.wire(shell, bar, ideas, (status, meta_history))
    branch_strip.wire(shell, strip, bar)
    review.wire(shell, polish_review, bar)
    revisions.wire(shell, history)
    side_panel.wire(shell, panel)
    finder.wire(shell, search)
