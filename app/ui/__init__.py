"""The Gradio 6 interface: `build_app(studio)` assembles the header and one tab per module, without
launching (only launch.py launches). Handlers are thin adapters over the Studio API.

Invariants: the interface language is settled per browser session when the page loads (forced by
`--ui-language`, else the writer's stored choice, else the browser's Accept-Language — see
app/ui/language.py), the page shows nothing until it is relabelled (no English flash), and a switch in
Settings relabels every registered component in place and is stored; the page reopens at the
remembered project, chapter and tab (app/ui/place.py).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import Studio
from app.ui import (
    branches,
    characters,
    consistency,
    context,
    desk,
    exports,
    lore,
    model_state,
    polish,
    projects,
    roleplay,
    settings,
    style,
    summaries,
    tools,
)
from app.ui.roleplay.inline import INLINE_ACTIONS_CSS
from app.ui.common import LiveGenerations, Shell
from app.ui.translator import TRANSLATOR_ATTRIBUTE, Translator, session_of
from app.ui.language import HIDE_UNTIL_READY_CSS, wire_language
from app.ui.place import opening, wire_place
from app.ui.strings import LANGUAGES, t

CSS = """
#demo-banner, #no-model-banner, #model-loading { background: #fff3cd; border: 1px solid #e0b400; border-radius: 6px; padding: 4px 12px; }
#editor textarea { font-size: 1.05em; line-height: 1.7; }
footer { display: none !important; }
.desk-hidden { display: none !important; }
#desk-meta { gap: 16px; align-items: baseline; }
#desk-count { flex: 0 0 auto !important; min-width: 120px; font-weight: 600; }
#desk-actions button { flex: 0 1 auto; }
""" + HIDE_UNTIL_READY_CSS + INLINE_ACTIONS_CSS

# Gradio's own strings our pages show that its bundled translations lack (a raw "common.complete", an
# English "In queue" in a Chinese page): Gradio key -> our catalogue key. Gradio picks by browser locale.
GRADIO_KEYS = {"common.complete": "gradio_complete", "status.queue_position": "gradio_queue_position"}
GRADIO_STRINGS = {locale: {key: t(language, ours) for key, ours in GRADIO_KEYS.items()}
                  for locale, language in (("en", "en"), ("zh", "zh"), ("zh-CN", "zh"), ("zh-TW", "zh"))}


def _toast_titles_css() -> str:
    """Gradio titles toasts with their English type name ("Error", "Warning"): hide it, and show the
    writer's-language title instead (the page's lang attribute is set when it is revealed)."""
    rules = [".toast-title { visibility: hidden; font-size: 0 !important; }"]
    for language, lang_attr in (("en", "en"), ("zh", "zh-CN")):
        for kind, key in (("error", "error_title"), ("warning", "warning_title"), ("info", "info_title")):
            rules.append(f'html[lang="{lang_attr}"] .toast-title.{kind}::after {{ content: "{t(language, key)}"; '
                         "visibility: visible; font-size: var(--text-md); }")
    return "\n".join(rules) + "\n"


CSS += _toast_titles_css()

__all__ = ["CSS", "build_app", "launch_options"]


def launch_options() -> dict[str, Any]:
    """What `blocks.launch()` needs besides host/port: our CSS and Gradio string fixes."""
    # footer_links=[]: no "Use via API / Built with Gradio" chrome a writer cannot act on (and no English
    # in a Chinese page)
    return {"css": CSS, "i18n": gr.I18n(**GRADIO_STRINGS), "footer_links": []}


def _options(studio: Studio) -> tuple[str, bool]:
    """(language the page is built in before a load relabels it, demo mode) from the studio's options."""
    options = getattr(studio, "options", None)
    language = getattr(options, "ui_language", "") or "en"
    return (language if language in LANGUAGES else "en"), bool(getattr(options, "demo", False))


def _header(shell: Shell, demo: bool) -> None:
    tr = shell.tr
    tr.markdown("app_title", elem_id="app-title")
    model_state.build(shell, demo)  # demo notice; model loading / not loaded (and why)
    with gr.Row():
        shell.project = tr.make(gr.Dropdown, "project", choices=projects.project_choices(shell), value=None,
                                allow_custom_value=True, elem_id="project-picker", scale=2)
        shell.chapter = tr.make(gr.Dropdown, "chapter", choices=[], allow_custom_value=True,
                                elem_id="chapter-picker", scale=2)
    shell.version = gr.State(None)


def build_app(studio: Studio) -> gr.Blocks:
    """The whole studio as Gradio Blocks (not launched). Theme/CSS go to launch(css=CSS)."""
    language, demo = _options(studio)
    shell = Shell(studio=studio, tr=Translator(language), live=LiveGenerations())
    with gr.Blocks(title="Inkstone") as blocks:
        setattr(blocks, TRANSLATOR_ATTRIBUTE, shell.tr)  # errors raised in handlers find the language
        _header(shell, demo)
        with gr.Tabs() as tabs:
            projects.build(shell)
            characters.build(shell)
            lore.build(shell)
            desk.build(shell)  # the Write tab is the writing desk
            with shell.tr.tab("tab_tools", id="tools"):  # the book's writing aids, one level down
                with gr.Tabs(elem_id="tool-tabs"):
                    branches.build(shell)
                    consistency.build(shell)
                    polish.build(shell)
                    summaries.build(shell)
                    context.build(shell)
                    tools.build(shell)  # outline, character bio, script outline, short video
            roleplay.build(shell)
            exports.build(shell)
            style.build(shell)
            chosen = settings.build(shell)
        wire_language(shell, blocks, chosen, extra=(opening(shell, tabs),))
        wire_place(shell, tabs)

        def page_closed(request: gr.Request) -> None:  # close its generators, running ones included
            shell.live.close_session(session_of(request))
            shell.tr.forget(session_of(request))

        blocks.unload(page_closed)
    return blocks
