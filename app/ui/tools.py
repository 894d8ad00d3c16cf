"""The Writing tools tab: a book outline, a character bio (人物小传), a script outline and a short-video
script, written from the book's memory — streamed, kept, reopened from the list of earlier results; a
bio can be written into the character's sheet.

Handlers are thin adapters over `studio.tools`; API names: run_writing_tool, writing_tool_results,
open_writing_tool_result, bio_into_sheet.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, choices, guarded, stream, wire_stop
from app.ui.inputs import as_id, as_seed, as_whole, require_id

TOOLS = ["outline", "character_bio", "script_outline", "short_video"]  # studio.tools.TOOLS, as choices
RESULT_PREVIEW_CHARS = 24
RUNNING, IDLE = gr.update(interactive=True), gr.update(interactive=False)  # the Stop button


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_writing_tools", id="writing_tools"):
        tr.markdown("tools_heading")
        kinds = tr.enum_choices("writing_tool", TOOLS)
        tool = tr.with_choices(tr.make(gr.Radio, "tool_kind", choices=kinds(tr.language), value="outline",
                                       elem_id="tool-kind"), kinds)
        with gr.Row():
            material = tr.make(gr.Textbox, "tool_material", lines=3, scale=3, elem_id="tool-material")
            with gr.Column(scale=1):
                character = tr.make(gr.Dropdown, "tool_character", choices=[], allow_custom_value=True,
                                    elem_id="tool-character")
                amount = tr.make(gr.Number, "tool_amount", value=10, precision=None, elem_id="tool-amount")
                seed = tr.make(gr.Number, "seed", value=-1, precision=None, elem_id="tool-seed")
        with gr.Row():
            run = tr.button("tool_run", variant="primary", elem_id="tool-run")
            stop = tr.button("stop", variant="stop", elem_id="tool-stop", interactive=False)  # only while running
        output = tr.make(gr.Textbox, "tool_output", lines=12, elem_id="tool-output")
        status = gr.Markdown(elem_id="tool-status")
        with gr.Row():
            earlier = tr.make(gr.Dropdown, "tool_results", choices=[], allow_custom_value=True, scale=3,
                              elem_id="tool-results")
            into_sheet = tr.button("tool_bio_into_sheet", scale=1, elem_id="tool-into-sheet")
    _wire_run(shell, tool, material, character, amount, seed, (run, stop), output, status, earlier)
    _wire_results(shell, tool, character, output, status, earlier, into_sheet)
    wire_stop(shell, stop, status)


def result_choices(shell: Shell, project_id: Any, tool: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id, "project")
    if ident is None or tool not in TOOLS:
        return []
    return choices(shell.studio.tools.results(ident, tool),
                   lambda p: f"{p.created_at:%m-%d %H:%M} · {p.text.strip()[:RESULT_PREVIEW_CHARS]}")


def _generation(shell: Shell, project_id: Any, tool: str, material: str, character_id: Any, amount: Any,
                seed: int | None) -> Any:
    tools, text = shell.studio.tools, material or ""
    if tool == "character_bio":
        return tools.character_bio(require_id(character_id, "character"), text, seed=seed)
    project = require_id(project_id, "project")
    if tool in ("outline", "short_video"):
        # only whole-number-ness is checked here; the studio states each tool's own range
        how_many = as_whole(amount, "tool_amount", -(2**31), 2**31 - 1, default=10 if tool == "outline" else 60)
        if tool == "outline":
            return tools.outline_book(project, text, how_many, seed=seed)
        return tools.short_video(project, text, how_many, seed=seed)
    return tools.script_outline(project, text, seed=seed)


def _wire_run(shell: Shell, tool, material, character, amount, seed, buttons, output, status, earlier) -> None:
    """`buttons`: (run, stop); Stop is enabled while a run streams and disabled when it ends or fails."""
    tr = shell.tr
    run, stop = buttons

    @guarded
    def run_writing_tool(project_id: Any, kind: Any, text: str, character_id: Any, how_much: Any, seed_value: Any,
                         request: gr.Request):
        chosen = kind if kind in TOOLS else "outline"
        generation = _generation(shell, project_id, chosen, text, character_id, how_much, as_seed(seed_value))
        for update in stream(shell, request, generation):
            streamed = update.texts[0] if update.texts else ""
            if not update.done:
                yield streamed, tr("generating"), gr.skip(), RUNNING
                continue
            kept = {p.id: p.text for p in shell.studio.tools.results(require_id(project_id, "project"), chosen)}
            passage = update.passage_ids[0] if update.passage_ids else None
            reason = update.finish_reasons[0] if update.finish_reasons else ""
            yield kept.get(passage or 0, streamed), tr("tool_finished", reason=tr.enum("finish", reason)), \
                gr.update(choices=result_choices(shell, project_id, chosen), value=passage if passage in kept else None), \
                IDLE

    run.click(run_writing_tool, [shell.project, tool, material, character, amount, seed],
              [output, status, earlier, stop], api_name="run_writing_tool").then(
        lambda: IDLE, None, [stop], api_visibility="private")  # also after a refusal or a failure


def _wire_results(shell: Shell, tool, character, output, status, earlier, into_sheet) -> None:
    studio, tr = shell.studio, shell.tr

    def listed(project_id: Any, kind: Any):
        return gr.update(choices=result_choices(shell, project_id, kind), value=None)

    def characters(project_id: Any):
        ident = as_id(project_id, "project")
        options = choices(studio.library.list_characters(ident), lambda c: c.name) if ident is not None else []
        return gr.update(choices=options, value=options[0][1] if options else None)

    @guarded
    def open_writing_tool_result(project_id: Any, kind: Any, passage_id: Any):
        ident = as_id(passage_id, "passage")
        found = {p.id: p.text for p in studio.tools.results(require_id(project_id, "project"), kind)} \
            if kind in TOOLS else {}
        return found[ident] if ident in found else gr.skip()

    @guarded
    def bio_into_sheet(passage_id: Any, character_id: Any):
        saved = studio.tools.bio_into_sheet(require_id(passage_id, "passage"), require_id(character_id, "character"))
        return tr("tool_bio_saved", name=saved.name, version=saved.version)

    tool.change(listed, [shell.project, tool], [earlier], api_name="writing_tool_results")
    earlier.input(open_writing_tool_result, [shell.project, tool, earlier], [output],
                  api_name="open_writing_tool_result")
    into_sheet.click(bio_into_sheet, [earlier, character], [status], api_name="bio_into_sheet")
    shell.project.change(lambda p, k: (listed(p, k), characters(p)), [shell.project, tool], [earlier, character],
                         api_visibility="private")
