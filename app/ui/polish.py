"""The Polish tab: pick a passage (or paste one), a preset or an instruction, stream the rewrite, review it
as a word/character-level diff, then accept it into the chapter or reject it.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import SaveConflict
from app.ui.common import Shell, as_id, as_seed, guarded, require_id, stream
from app.ui.write import saved_outputs

PRESETS = ["polish", "tighten", "vivid", "pacing", "pov", "grammar"]  # keys of prompts/*/polish.j2
DIFF_COLORS = {"+": "#2e7d32", "-": "#c62828"}


def diff_spans(shell: Shell, original: str, revised: str) -> list[tuple[str, str | None]]:
    """HighlightedText value: ('+' inserted, '-' deleted, None unchanged) spans."""
    marks = {"insert": "+", "delete": "-", "equal": None}
    return [(op.text, marks[op.kind]) for op in shell.studio.diff(original or "", revised or "")]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_polish", id="polish"):
        with gr.Row():
            with gr.Column():
                original = tr.make(gr.Textbox, "polish_original", lines=8, elem_id="polish-original")
                use_chapter = tr.button("use_chapter_text", size="sm", elem_id="use-chapter-text")
                preset = tr.make(gr.Dropdown, "polish_preset", choices=[(tr(f"preset_{p}"), p) for p in PRESETS],
                                 value="tighten", allow_custom_value=True)
                instruction = tr.make(gr.Textbox, "polish_instruction", lines=2)
                with gr.Row():
                    seed = tr.make(gr.Number, "seed", precision=0, value=-1)
                    run = tr.button("polish", variant="primary", elem_id="polish")
                    stop = tr.button("stop", variant="stop")
            with gr.Column():
                result = tr.make(gr.Textbox, "polish_result", lines=8, elem_id="polish-result")
                diff = tr.make(gr.HighlightedText, "polish_diff", combine_adjacent=True, show_legend=False,
                               color_map=DIFF_COLORS, elem_id="polish-diff")
                with gr.Row():
                    accept = tr.button("accept_polish", variant="primary", elem_id="accept-polish")
                    reject = tr.button("reject_polish", elem_id="reject-polish")
    _wire(shell, original, use_chapter, preset, instruction, seed, run, stop, result, diff, accept, reject)


def _wire(shell: Shell, original, use_chapter, preset, instruction, seed, run, stop, result, diff, accept,
          reject) -> None:
    studio = shell.studio

    @guarded
    def chapter_text(chapter_id: Any):
        return studio.get_chapter(require_id(chapter_id, "chapter")).text

    @guarded
    def polish(text: str, preset_name: Any, how: str, chapter_id: Any, seed_value: Any, request: gr.Request):
        gen = studio.polish(text or "", preset_name or None, how or "", chapter_id=as_id(chapter_id),
                            seed=as_seed(seed_value))
        for update in stream(shell.live, request, gen):
            revised = update.texts[0] if update.texts else ""
            yield revised, (diff_spans(shell, text, revised) if update.done else gr.skip())

    @guarded
    def show_diff(text: str, revised: str):
        return diff_spans(shell, text, revised)

    @guarded
    def accept_polish(chapter_id: Any, text: str, revised: str, base_version: Any):
        try:
            chapter = studio.accept_polish(require_id(chapter_id, "chapter"), text or "", revised or "",
                                           base_version)
        except SaveConflict as conflict:
            gr.Warning(str(conflict))
            return gr.skip(), gr.skip(), f"⚠ {conflict}", gr.skip(), gr.skip()
        return (*saved_outputs(shell, chapter, "polish_accepted")[:3], "", [])

    use_chapter.click(chapter_text, [shell.chapter], [original], api_name="chapter_text")
    event = run.click(polish, [original, preset, instruction, shell.chapter, seed], [result, diff],
                      api_name="polish")
    result.input(show_diff, [original, result], [diff], api_name="diff")
    accept.click(accept_polish, [shell.chapter, original, result, shell.version],
                 [shell.editor, shell.version, shell.status, result, diff], api_name="accept_polish")
    reject.click(lambda: ("", []), None, [result, diff], api_name="reject_polish")
    stop.click(lambda: studio.cancel_all(), None, None, cancels=[event], api_visibility="private")
