"""The Settings tab: the loaded engine and model (quantization, context length, device memory), the
project's sampling defaults, and the interface language.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gradio as gr

from app.ui.common import Shell, as_id, guarded, markdown_table, require_id

SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")


def engine_table(shell: Shell) -> str:
    info, tr = shell.studio.settings.engine_info(), shell.tr
    rows = [[tr("engine_kind"), info.kind], [tr("engine_model"), info.model_id],
            [tr("engine_quantization"), info.quantization or "—"], [tr("engine_context"), info.context_length],
            [tr("engine_device"), info.device or "—"], [tr("engine_memory"), info.memory or "—"],
            [tr("engine_notes"), info.notes or "—"]]
    return markdown_table([tr("setting"), tr("value")], rows)


def build(shell: Shell) -> gr.Radio:
    """Lay out the tab; returns the language selector (build_app wires it to every label)."""
    tr = shell.tr
    with tr.tab("tab_settings", id="settings"):
        language = tr.make(gr.Radio, "ui_language", choices=[("English", "en"), ("中文", "zh")],
                           value=tr.language, elem_id="ui-language")
        tr.markdown("engine_heading")
        engine = gr.Markdown(engine_table(shell), elem_id="engine-info")
        refresh = tr.button("refresh_engine", size="sm")
        tr.markdown("sampling_heading")
        with gr.Row():
            temperature = tr.make(gr.Slider, "temperature", minimum=0, maximum=2, step=0.05, value=0.8)
            top_p = tr.make(gr.Slider, "top_p", minimum=0.05, maximum=1, step=0.01, value=0.9)
            top_k = tr.make(gr.Number, "top_k", precision=0, value=50, minimum=0)
            min_p = tr.make(gr.Slider, "min_p", minimum=0, maximum=0.99, step=0.01, value=0.0)
            penalty = tr.make(gr.Slider, "repetition_penalty", minimum=0.5, maximum=2, step=0.01, value=1.05)
        save = tr.button("save_sampling", variant="primary")
        status = gr.Markdown()
    sampling = [temperature, top_p, top_k, min_p, penalty]
    _wire(shell, engine, refresh, sampling, save, status)
    return language


def _wire(shell: Shell, engine, refresh, sampling, save, status) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def load_sampling(project_id: Any):
        ident = as_id(project_id)
        if ident is None:
            return [gr.skip()] * len(SAMPLING_FIELDS)
        params = studio.settings.sampling_defaults(ident)
        return [getattr(params, f) for f in SAMPLING_FIELDS]

    @guarded
    def save_sampling(project_id: Any, temperature: float, top_p: float, top_k: int, min_p: float,
                      repetition_penalty: float):
        ident = require_id(project_id, "project")
        # the project's current defaults with the form's values (the studio validates them)
        params = replace(studio.settings.sampling_defaults(ident), temperature=float(temperature), top_p=float(top_p),
                         top_k=int(top_k or 0), min_p=float(min_p), repetition_penalty=float(repetition_penalty))
        studio.settings.set_sampling_defaults(ident, params)
        return tr("sampling_saved")

    refresh.click(lambda: engine_table(shell), None, [engine], api_name="engine_info")
    shell.project.change(load_sampling, [shell.project], sampling, api_name="sampling_defaults")
    save.click(save_sampling, [shell.project, *sampling], [status], api_name="set_sampling")
