"""The Gradio 6 interface: `build_app(studio)` assembles the header and one tab per module, without
launching (only launch.py launches). Handlers are thin adapters over the Studio API.

Invariant: the interface language is the writer's choice — the Settings radio, or `?lang=zh|en` in the
address — and switching relabels every registered component in place.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import Studio
from app.ui import (
    branches,
    characters,
    context,
    exports,
    lore,
    polish,
    projects,
    roleplay,
    settings,
    summaries,
)
from app.ui import desk
from app.ui.common import LiveGenerations, Shell, Translator, session_of
from app.ui.strings import LANGUAGES

CSS = """
#demo-banner, #no-model-banner { background: #fff3cd; border: 1px solid #e0b400; border-radius: 6px; padding: 4px 12px; }
#editor textarea { font-size: 1.05em; line-height: 1.7; }
footer { display: none !important; }
.desk-hidden { display: none !important; }
#desk-meta { gap: 16px; align-items: baseline; }
#desk-count { flex: 0 0 auto !important; min-width: 120px; font-weight: 600; }
#desk-actions button { flex: 0 1 auto; }
"""

__all__ = ["CSS", "build_app"]


def _options(studio: Studio) -> tuple[str, bool]:
    """(default UI language, demo mode) from the studio's options."""
    options = getattr(studio, "options", None)
    language = getattr(options, "ui_language", "en")
    return (language if language in LANGUAGES else "en"), bool(getattr(options, "demo", False))


def _header(shell: Shell, demo: bool) -> None:
    tr = shell.tr
    tr.markdown("app_title", elem_id="app-title")
    if demo:
        tr.markdown("demo_banner", elem_id="demo-banner")
    info = shell.studio.settings.engine_info()
    if info.kind == "none":  # say plainly why, and the ways out (the engine's own words)
        tr.markdown("no_model_banner", elem_id="no-model-banner")
        gr.Markdown(info.notes, elem_id="no-model-reason")
    with gr.Row():
        shell.project = tr.make(gr.Dropdown, "project", choices=projects.project_choices(shell), value=None,
                                allow_custom_value=True, elem_id="project-picker", scale=2)
        shell.chapter = tr.make(gr.Dropdown, "chapter", choices=[], allow_custom_value=True,
                                elem_id="chapter-picker", scale=2)
    shell.version = gr.State(None)


def _wire_language(shell: Shell, blocks: gr.Blocks, language: gr.Radio) -> None:
    components = shell.tr.components

    def switch(choice: str) -> list[Any]:
        return shell.tr.relabel(choice if choice in LANGUAGES else "en")

    def from_address(request: gr.Request) -> Any:
        """`?lang=zh|en` wins; otherwise the page opens in the language last chosen."""
        wanted = (request.query_params.get("lang") or "") if request else ""
        return wanted if wanted in LANGUAGES else shell.tr.language

    switched = language.change(switch, [language], components, api_visibility="private")
    blocks.load(from_address, None, [language], api_visibility="private")
    for fn, outputs in shell.on_load:  # on load, and again after a switch (tables in the new language)
        blocks.load(fn, None, outputs, api_visibility="private")
        switched.then(fn, None, outputs, api_visibility="private")


def build_app(studio: Studio) -> gr.Blocks:
    """The whole studio as Gradio Blocks (not launched). Theme/CSS go to launch(css=CSS)."""
    language, demo = _options(studio)
    shell = Shell(studio=studio, tr=Translator(language), live=LiveGenerations())
    with gr.Blocks(title="Inkstone") as blocks:
        _header(shell, demo)
        with gr.Tabs():
            projects.build(shell)
            characters.build(shell)
            lore.build(shell)
            desk.build(shell)  # the Write tab is the writing desk
            branches.build(shell)
            polish.build(shell)
            summaries.build(shell)
            context.build(shell)
            roleplay.build(shell)
            exports.build(shell)
            chosen = settings.build(shell)
        _wire_language(shell, blocks, chosen)

        def page_closed(request: gr.Request) -> None:  # close its generators, running ones included
            shell.live.close_session(session_of(request))

        blocks.unload(page_closed)
    return blocks
