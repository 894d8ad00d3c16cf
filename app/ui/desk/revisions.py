"""Revision history on the desk: compare any two versions of the chapter as a readable diff, restore either.

Invariant: restoring first saves the editor's unsaved text (itself a revision), so nothing is lost, and
a stale tab's restore is refused; `shell.revisions` is version A (other handlers refresh its choices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.studio import SaveConflict, change_numbers, review_changes
from app.ui.common import Shell, conflict_message, guarded, sync_editor
from app.ui.inputs import as_id, require_id
from app.ui.desk.review import DIFF_COLORS, diff_spans
from app.ui.views import revision_choices, saved_outputs


@dataclass
class History:
    other: Any  # version B
    diff: Any
    summary: Any
    restore_a: Any
    restore_b: Any


def build(shell: Shell) -> History:
    tr = shell.tr
    with tr.make(gr.Accordion, "revisions", open=False, elem_id="desk-revisions"):
        with gr.Row():
            shell.revisions = tr.make(gr.Dropdown, "desk_revision_a", choices=[], allow_custom_value=True,
                                      elem_id="revision-a")
            other = tr.make(gr.Dropdown, "desk_revision_b", choices=[], allow_custom_value=True,
                            elem_id="revision-b")
        summary = gr.Markdown(elem_id="revision-summary")
        diff = tr.make(gr.HighlightedText, "desk_revision_diff", combine_adjacent=True, show_legend=False,
                       color_map=DIFF_COLORS, elem_id="revision-diff")
        with gr.Row():
            restore_a = tr.button("desk_restore_a", size="sm", elem_id="restore-a")
            restore_b = tr.button("desk_restore_b", size="sm", elem_id="restore-b")
    return History(other, diff, summary, restore_a, restore_b)


def wire(shell: Shell, history: History) -> None:
    studio, tr = shell.studio, shell.tr

    def text_of(chapter: int, revision_id: Any) -> str | None:
        ident = as_id(revision_id)
        found = [r.text for r in studio.chapters.list_revisions(chapter) if r.id == ident] if ident is not None else []
        return found[0] if found else None

    @guarded
    def compare(chapter_id: Any, a: Any, b: Any):
        """(B's choices, summary, diff A → B); with one side chosen, that side against the current text."""
        chapter = as_id(chapter_id)
        if chapter is None:
            return gr.skip(), "", []
        options = revision_choices(shell, chapter)
        ids = [value for _, value in options]
        keep_b = as_id(b) if as_id(b) in ids else None
        old, new = text_of(chapter, a), text_of(chapter, keep_b)
        if old is None and new is None:
            return gr.update(choices=options, value=keep_b), "", []
        current = studio.chapters.get_chapter(chapter).text
        old, new = (old if old is not None else current), (new if new is not None else current)
        pieces = review_changes(old, new)
        said = tr("desk_revision_summary", changes=len(change_numbers(pieces)))
        return gr.update(choices=options, value=keep_b), said, diff_spans(pieces, change_numbers(pieces))

    @guarded
    def restore(chapter_id: Any, chosen: Any, editor_text: str | None, base_version: Any):
        ident = require_id(chapter_id, "chapter")
        try:
            chapter = sync_editor(shell, ident, editor_text, base_version)
            chapter = studio.chapters.restore_revision(require_id(chosen, "revision"), chapter.version, chapter_id=ident)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip()
        return saved_outputs(shell, chapter, "restored_version")

    compared = [history.other, history.summary, history.diff]
    shell.revisions.change(compare, [shell.chapter, shell.revisions, history.other], compared,
                           api_visibility="private")
    history.other.input(compare, [shell.chapter, shell.revisions, history.other], compared,
                        api_visibility="private")
    changed = [shell.editor, shell.version, shell.status, shell.revisions]
    history.restore_a.click(restore, [shell.chapter, shell.revisions, shell.editor, shell.version], changed,
                            api_name="restore_revision")
    history.restore_b.click(restore, [shell.chapter, history.other, shell.editor, shell.version], changed,
                            api_name="restore_revision_b")
