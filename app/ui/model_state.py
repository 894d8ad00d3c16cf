"""The model banners under the title: the demo notice; while the engine loads in the background, a
line saying so with the seconds so far (a timer ticks once a second, only while loading); when the
load ends, that line hides, a toast says the model is ready, and — when no model could be loaded —
the no-model banner shows why and the ways out. Every page load shows the current state.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell

LOADING = "loading"  # EngineInfo.kind while the engine loads (app.engine.background)
TICK_S = 1.0


def build(shell: Shell, demo: bool) -> None:
    """Lay out the banners and set `shell.model_timer` (ticks while the model loads)."""
    tr = shell.tr
    if demo:
        tr.markdown("demo_banner", elem_id="demo-banner")
    info = shell.studio.settings.engine_info()  # the state as built; every page load refreshes it
    is_loading, missing = info.kind == LOADING, info.kind == "none"
    loading = gr.Markdown(tr.text(info.notes) if is_loading else "", visible=is_loading, elem_id="model-loading")
    no_model = tr.markdown("no_model_banner", elem_id="no-model-banner", visible=missing)
    reason = gr.Markdown(tr.text(info.notes) if missing else "", visible=missing, elem_id="no-model-reason")
    timer = gr.Timer(TICK_S, active=is_loading)
    shell.model_timer = timer
    outputs = [loading, no_model, reason, timer]

    def banners(info: Any) -> tuple[Any, ...]:
        is_loading, missing = info.kind == LOADING, info.kind == "none"
        notes = tr.text(info.notes)  # the engine's reason: a Message in the page's language, or its words
        return (gr.update(value=notes if is_loading else "", visible=is_loading), gr.update(visible=missing),
                gr.update(value=notes if missing else "", visible=missing), gr.update(active=is_loading))

    def model_banners() -> tuple[Any, ...]:
        return banners(shell.studio.settings.engine_info())

    def model_tick() -> tuple[Any, ...]:
        info = shell.studio.settings.engine_info()
        if info.kind not in (LOADING, "none"):  # the tick runs only while loading: this is the change
            gr.Info(tr("model_ready", model=info.model_id))
        return banners(info)

    shell.on_load.append((model_banners, outputs))
    timer.tick(model_tick, None, outputs, api_visibility="private", show_progress="hidden")
    gr.Button(visible=False).click(lambda: shell.studio.settings.engine_info().kind, None,
                                   gr.Textbox(visible=False), api_name="engine_state")
