"""The Polish tab: pick a passage (the editor's selection, the whole editor text, or a pasted one), a preset
or an instruction, stream the rewrite, review it as a word/character-level diff, then accept it into the
chapter or reject it.

Invariant: `start` (a State) is the offset of the original passage in the editor text it was taken from,
or None once the writer edits the original by hand; accepting passes it so the studio replaces exactly
that occurrence, and passes the polish passage id so a cut-short polish is refused.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import InvalidInput, SaveConflict, polish_presets
from app.ui.common import Shell, conflict_message, guarded, stream, sync_editor, wire_stop
from app.ui.inputs import as_id, as_seed, as_whole, require_id
from app.ui.views import editor_selection, saved_outputs

DIFF_COLORS = {"+": "#2e7d32", "-": "#c62828"}


def diff_spans(shell: Shell, original: str, revised: str) -> list[tuple[str, str | None]]:
    """HighlightedText value: ('+' inserted, '-' deleted, None unchanged) spans."""
    marks = {"insert": "+", "delete": "-", "equal": None}
    return [(op.text, marks[op.kind]) for op in shell.studio.polish.diff(original or "", revised or "")]


def preset_choices(language: str) -> list[tuple[str, str]]:
    """(what the preset asks for, preset name), as the polish template of `language` defines them."""
    return [(description, name) for name, description in polish_presets(language).items()]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_polish", id="polish"):
        with gr.Row():
            with gr.Column():
                original = tr.make(gr.Textbox, "polish_original", lines=8, elem_id="polish-original")
                use_chapter = tr.button("use_chapter_text", size="sm", elem_id="use-chapter-text")
                preset = tr.with_choices(tr.make(gr.Dropdown, "polish_preset", choices=preset_choices(tr.language),
                                                 value="tighten", allow_custom_value=True), preset_choices)
                instruction = tr.make(gr.Textbox, "polish_instruction", lines=2)
                with gr.Row():
                    seed = tr.make(gr.Number, "seed", precision=None, value=-1)
                    run = tr.button("polish", variant="primary", elem_id="polish")
                    stop = tr.button("stop", variant="stop")
            with gr.Column():
                result = tr.make(gr.Textbox, "polish_result", lines=8, elem_id="polish-result")
                status = gr.Markdown(elem_id="polish-status")
                diff = tr.make(gr.HighlightedText, "polish_diff", combine_adjacent=True, show_legend=False,
                               color_map=DIFF_COLORS, elem_id="polish-diff")
                with gr.Row():
                    accept = tr.button("accept_polish", variant="primary", elem_id="accept-polish")
                    reject = tr.button("reject_polish", elem_id="reject-polish")
        where = dict(selection=gr.State(None), start=gr.State(None), passage=gr.State(None))
    widgets = dict(original=original, use_chapter=use_chapter, preset=preset, instruction=instruction, seed=seed,
                   run=run, stop=stop, result=result, status=status, diff=diff, accept=accept, reject=reject)
    _wire_source(shell, widgets, where)
    _wire_polish(shell, widgets, where)


def _wire_source(shell: Shell, w: dict[str, Any], where: dict[str, Any]) -> None:
    """Where the original passage comes from: the editor's selection (with its offset) or all of it."""
    studio = shell.studio

    @guarded
    def chapter_text(chapter_id: Any, editor_text: str | None, selection: Any):
        text = editor_text if editor_text is not None else studio.chapters.get_chapter(require_id(chapter_id, "chapter")).text
        if selection:
            start, selected = selection
            if text[start:start + len(selected)] == selected:
                return selected, start
        return text, 0

    shell.editor.select(editor_selection, None, [where["selection"]], api_visibility="private")
    shell.editor.input(lambda: None, None, [where["selection"]], api_visibility="private")
    w["use_chapter"].click(chapter_text, [shell.chapter, shell.editor, where["selection"]],
                           [w["original"], where["start"]], api_name="chapter_text")
    w["original"].input(lambda: None, None, [where["start"]], api_visibility="private")  # typed by hand


def _polish_stream(shell: Shell, text: str, preset_name: Any, how: str, chapter_id: Any, seed_value: Any,
                   request: gr.Request):
    """(result, diff, status, polish passage id) updates; the status names the finish reason."""
    studio, tr = shell.studio, shell.tr
    gen = studio.polish.polish(text or "", preset_name or None, how or "", chapter_id=as_id(chapter_id),
                        seed=as_seed(seed_value))
    for update in stream(shell, request, gen):
        revised = update.texts[0] if update.texts else ""
        passage = update.passage_ids[0] if update.passage_ids else None
        if update.done:
            reason = update.finish_reasons[0] if update.finish_reasons else ""
            key = "polish_finished" if reason == "stop" else "polish_cut_short"
            yield revised, diff_spans(shell, text, revised), tr(key, reason=tr.enum("finish", reason)), passage
        else:
            yield revised, gr.skip(), tr("generating"), passage


def _wire_polish(shell: Shell, w: dict[str, Any], where: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def polish(text: str, preset_name: Any, how: str, chapter_id: Any, seed_value: Any, request: gr.Request):
        yield from _polish_stream(shell, text, preset_name, how, chapter_id, seed_value, request)

    @guarded
    def edited_by_hand(text: str, revised: str):
        """The writer edited the result: it is theirs now (no longer the polish passage), and its diff."""
        return diff_spans(shell, text, revised), None

    @guarded
    def accept_polish(chapter_id: Any, text: str, revised: str, editor_text: str | None, base_version: Any,
                      start: Any, passage_id: Any):
        ident = require_id(chapter_id, "chapter")
        try:  # the editor's unsaved text is saved first; `start` is an offset into exactly that text
            chapter = sync_editor(shell, ident, editor_text, base_version)
            offset = None if start in (None, "") else as_whole(start, "start", 0, 2**63 - 1)
            chapter = studio.polish.accept_polish(ident, text or "", revised or "", chapter.version, start=offset,
                                                  passage_id=as_id(passage_id, "passage"))
        except (SaveConflict, InvalidInput) as refused:  # a message, not an error: the result stays editable
            message = conflict_message(refused)
            return gr.skip(), gr.skip(), message, gr.skip(), gr.skip(), gr.skip(), message
        saved = saved_outputs(shell, chapter, "polish_accepted")
        return (*saved, "", [], saved[2])

    w["run"].click(polish, [w["original"], w["preset"], w["instruction"], shell.chapter, w["seed"]],
                   [w["result"], w["diff"], w["status"], where["passage"]], api_name="polish")
    w["result"].input(edited_by_hand, [w["original"], w["result"]], [w["diff"], where["passage"]], api_name="diff")
    w["accept"].click(accept_polish, [shell.chapter, w["original"], w["result"], shell.editor, shell.version,
                                      where["start"], where["passage"]],
                      [shell.editor, shell.version, shell.status, shell.revisions, w["result"], w["diff"], w["status"]],
                      api_name="accept_polish")
    @guarded
    def reject_polish(text: str, passage_id: Any):
        """The result is discarded; the polish (unless edited by hand, which drops its id) is recorded
        as the original preferred to it."""
        ident = as_id(passage_id, "passage")
        if ident is not None and text:
            studio.style.reject_polish(ident, text)
        return "", [], None

    w["reject"].click(reject_polish, [w["original"], where["passage"]], [w["result"], w["diff"], where["passage"]],
                      api_name="reject_polish")
    wire_stop(shell, w["stop"])
