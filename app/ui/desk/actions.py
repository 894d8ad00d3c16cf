"""The desk's generation actions: Continue, Draft from outline and Brainstorm, streamed in place with live
feedback (tokens so far, tokens/s, elapsed, ETA) and a plain-language finish line; Stop is enabled only
while something of this page runs.

Invariant: unsaved editor text is saved before a run (a stale tab generates nothing); the streamed
preview is exactly what the studio will save (`join_passage`), so the text does not jump at the end.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import SaveConflict, join_passage
from app.ui.common import Shell, conflict_message, guarded, stop_session, stream, sync_editor
from app.ui.inputs import as_id, as_seed, require_id
from app.ui.desk import measure
from app.ui.desk.feedback import RunClock, finish_line, progress_line
from app.ui.history import FieldHistory, adopt_model_save
from app.ui.views import revision_choices

RUNNING, IDLE = gr.update(interactive=True), gr.update(interactive=False)


def _synced(shell: Shell, chapter_id: Any, editor_text: str | None, base_version: Any):
    ident = require_id(chapter_id, "chapter")
    return ident, sync_editor(shell, ident, editor_text, base_version)


def run_feedback(shell: Shell, clock: RunClock, text: str) -> str:
    return progress_line(shell.tr.language, clock.figures(measure.tokens(shell, text)), clock.max_tokens)


def done_feedback(shell: Shell, clock: RunClock, update: Any, text: str) -> str:
    reason = update.finish_reasons[0] if update.finish_reasons else ""
    return finish_line(shell.tr.language, reason, clock.figures(measure.tokens(shell, text)), error=update.error)


def chapter_stream(shell: Shell, task: str, start: Any, chapter_id: Any, editor_text: str | None,
                   base_version: Any, seed_value: Any, request: gr.Request):
    """(editor, version, status, revisions, feedback, stop) updates of a draft/continue run."""
    studio, tr = shell.studio, shell.tr
    try:
        ident, chapter = _synced(shell, chapter_id, editor_text, base_version)
    except SaveConflict as conflict:  # nothing generated, the editor keeps its text
        yield gr.skip(), gr.skip(), conflict_message(conflict), gr.skip(), gr.skip(), IDLE
        return
    base, clock = chapter.text, RunClock(measure.limit(shell, ident, task))
    yield gr.skip(), chapter.version, tr("generating"), gr.skip(), run_feedback(shell, clock, ""), RUNNING
    for update in stream(shell, request, start(ident, seed=as_seed(seed_value))):
        streamed = update.texts[0] if update.texts else ""
        if update.done:
            chapter = update.chapter or studio.chapters.get_chapter(ident)
            stopped = bool(update.finish_reasons) and update.finish_reasons[0] == "cancelled"
            said = tr("desk_stopped_kept" if stopped else f"desk_{task}_done", version=chapter.version)
            yield (chapter.text, chapter.version, said,
                   gr.update(choices=revision_choices(shell, ident), value=None),
                   done_feedback(shell, clock, update, streamed), IDLE)
        else:
            yield join_passage(base, streamed, task), gr.skip(), gr.skip(), gr.skip(), \
                run_feedback(shell, clock, streamed), gr.skip()


def wire(shell: Shell, bar: Any, ideas: Any, meta: tuple[Any, FieldHistory]) -> None:
    """`meta`: the chapter's status dropdown and its title/status history (a draft moves the status)."""
    studio, tr = shell.studio, shell.tr
    status, meta_panel = meta

    @guarded
    def after_draft(chapter_id: Any, shown_version: Any):
        """A draft moves the status from outline to draft (the model's save): the desk adopts it."""
        ident = as_id(chapter_id, "chapter")
        chapter = studio.chapters.get_chapter(ident) if ident is not None else None
        adopted = adopt_model_save(shell, meta_panel, chapter, shown_version, chapter.meta_version if chapter else -1)
        return (chapter.status if chapter is not None and isinstance(adopted[0], int) else gr.skip()), *adopted

    @guarded
    def draft(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any, request: gr.Request):
        yield from chapter_stream(shell, "draft", studio.writing.draft_chapter, chapter_id, editor_text, base_version,
                                  seed_value, request)

    @guarded
    def continue_(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any,
                  request: gr.Request):
        yield from chapter_stream(shell, "continue", studio.writing.continue_chapter, chapter_id, editor_text, base_version,
                                  seed_value, request)

    @guarded
    def brainstorm(chapter_id: Any, editor_text: str | None, base_version: Any, seed_value: Any,
                   request: gr.Request):
        try:
            ident, chapter = _synced(shell, chapter_id, editor_text, base_version)
        except SaveConflict as conflict:
            yield gr.skip(), gr.skip(), conflict_message(conflict), gr.skip(), IDLE
            return
        clock = RunClock(measure.limit(shell, ident, "brainstorm"))
        yield gr.update(visible=True, value=""), chapter.version, tr("generating"), run_feedback(shell, clock, ""), \
            RUNNING
        for update in stream(shell, request, studio.writing.brainstorm(ident, seed=as_seed(seed_value))):
            text = update.texts[0] if update.texts else ""
            line = done_feedback(shell, clock, update, text) if update.done else run_feedback(shell, clock, text)
            yield text, gr.skip(), (tr("desk_brainstorm_done") if update.done else gr.skip()), line, \
                (IDLE if update.done else gr.skip())

    def stop(request: gr.Request):
        stop_session(shell, request)
        return tr("stopped")

    inputs = [shell.chapter, shell.editor, shell.version, bar.seed]
    into_chapter = [shell.editor, shell.version, shell.status, shell.revisions, bar.feedback, bar.stop]
    drafted = bar.draft.click(draft, inputs, into_chapter, api_name="draft")
    drafted.then(lambda: IDLE, None, [bar.stop], api_visibility="private")
    drafted.then(after_draft, [shell.chapter, meta_panel.version], [status, meta_panel.version, meta_panel.picker],
                 api_visibility="private")
    bar.cont.click(continue_, inputs, into_chapter, api_name="continue").then(lambda: IDLE, None, [bar.stop],
                                                                              api_visibility="private")
    bar.brainstorm.click(brainstorm, inputs, [ideas, shell.version, shell.status, bar.feedback, bar.stop],
                         api_name="brainstorm").then(lambda: IDLE, None, [bar.stop], api_visibility="private")
    bar.stop.click(stop, None, [shell.status], api_name="stop_writing")
