"""The desk's editor: the chapter text, its live 字数 / word count, the save state, Save and autosave.

Invariants:
- the count is computed in the browser on every change (typing or streaming), by the same rule as
  `app.studio.counting.count_text` (CJK characters + Latin words), so typing costs no server call;
- autosave: a timer ticks while the desk is open (browsers' `input` events are unreliable for IME and
  pasted text, so nothing depends on them); a tick saves only when the text is the same as at the
  previous tick (the writer paused for ≥ one tick), differs from the stored chapter and no generation of
  this page is streaming into it; the save carries the editor's base version, so a stale tab is refused
  (the editor keeps its text, autosave pauses until the chapter is reopened, the state says so);
- every save, manual or automatic, is one revision (source "user").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.studio import SaveConflict
from app.ui.common import Shell, as_shown, conflict_message, guarded
from app.ui.inputs import as_id, require_id
from app.ui.translator import session_of
from app.ui.views import revision_choices

AUTOSAVE_TICK_S = 2.5

# CJK characters + Latin words; mirrors app.studio.counting (a browser test checks they agree).
COUNT_JS = r"""
(text) => {
  const s = text || "";
  const cjk = /[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u{20000}-\u{3134f}]/gu;
  const chars = (s.match(cjk) || []).length;
  const words = (s.replace(cjk, " ").match(/[\p{L}\p{N}\p{M}]+(?:['’-][\p{L}\p{N}\p{M}]+)*/gu) || []).length;
  const label = (document.querySelector('#desk-count-label') || {}).innerText || '';
  return `${label.trim()} ${(chars + words).toLocaleString('en-US')}`;
}
"""


@dataclass
class EditorState:
    count: Any  # gr.Markdown: "字数 1,234", written by the browser
    save_state: Any  # gr.Markdown: saved / unsaved / autosaved / conflict
    timer: Any  # gr.Timer: the autosave tick
    last_seen: Any  # gr.State: editor text at the previous tick


def build(shell: Shell) -> EditorState:
    tr = shell.tr
    with gr.Row(elem_id="desk-meta", equal_height=True):
        tr.markdown("word_count", elem_id="desk-count-label", elem_classes=["desk-hidden"])
        count = gr.Markdown(elem_id="desk-count")
        save_state = gr.Markdown(elem_id="desk-save-state")
    shell.editor = tr.make(gr.Textbox, "editor", lines=20, max_lines=60, elem_id="editor", show_label=False,
                           placeholder=tr("editor_placeholder"))
    tr.register(shell.editor, "editor_placeholder", "placeholder")
    timer = gr.Timer(AUTOSAVE_TICK_S, active=True)
    return EditorState(count, save_state, timer, gr.State(None))


def saved_state(shell: Shell, key: str, version: int) -> str:
    return shell.tr(key, version=version)


def wire(shell: Shell, state: EditorState, save_button: Any, opening: Any) -> None:
    """`opening`: the event that loads a chapter into the editor; the save state follows each one (two
    chapters at the same version number change no version, so the version's own change can't say it)."""
    studio, tr = shell.studio, shell.tr

    @guarded
    def tick(chapter_id: Any, text: str | None, base_version: Any, last_seen: Any, request: gr.Request):
        """(version, save state, revisions, last seen) — see the module invariants."""
        ident = as_id(chapter_id)
        if ident is None or text is None or shell.live.running(session_of(request)):
            return gr.skip(), gr.skip(), gr.skip(), None
        chapter = studio.chapters.get_chapter(ident)
        if as_shown(text) == as_shown(chapter.text):
            return gr.skip(), gr.skip(), gr.skip(), None
        if base_version != chapter.version:  # a newer version was saved elsewhere (versions start at 0)
            return gr.skip(), tr("save_state_stale", version=chapter.version), gr.skip(), None
        if text != last_seen:  # still typing: wait for a pause
            return gr.skip(), tr("save_state_unsaved"), gr.skip(), text
        try:
            saved = studio.chapters.save_chapter(ident, text, base_version)
        except SaveConflict as conflict:
            return gr.skip(), conflict_message(conflict), gr.skip(), None
        return (saved.version, saved_state(shell, "save_state_autosaved", saved.version),
                gr.update(choices=revision_choices(shell, ident), value=None), None)

    @guarded
    def save(chapter_id: Any, text: str, base_version: Any):
        try:
            chapter = studio.chapters.save_chapter(require_id(chapter_id, "chapter"), text or "", base_version)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip()
        return (chapter.text, chapter.version, tr("saved_version", version=chapter.version),
                gr.update(choices=revision_choices(shell, chapter.id), value=None))

    @guarded
    def describe(chapter_id: Any, text: str | None, version: Any):
        """The save state after the editor's version changed (opened, saved, accepted, restored…)."""
        ident = as_id(chapter_id)
        if ident is None:
            return ""
        chapter = studio.chapters.get_chapter(ident)
        if version != chapter.version:  # versions start at 0, so not an id
            return tr("save_state_stale", version=chapter.version)
        if text is not None and as_shown(text) != as_shown(chapter.text):
            return tr("save_state_unsaved")
        return saved_state(shell, "save_state_saved", chapter.version)

    shell.editor.change(None, [shell.editor], [state.count], js=COUNT_JS)
    state.timer.tick(tick, [shell.chapter, shell.editor, shell.version, state.last_seen],
                     [shell.version, state.save_state, shell.revisions, state.last_seen],
                     show_progress="hidden", api_visibility="private")
    save_button.click(save, [shell.chapter, shell.editor, shell.version],
                      [shell.editor, shell.version, shell.status, shell.revisions], api_name="save_chapter")
    described = ([shell.chapter, shell.editor, shell.version], [state.save_state])
    shell.version.change(describe, *described, show_progress="hidden", api_visibility="private")
    opening.then(describe, *described, show_progress="hidden", api_visibility="private")
