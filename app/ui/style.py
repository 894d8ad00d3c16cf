"""The "My style" tab: training datasets from the writer's choices (row counts, downloads), a LoRA
fine-tune of the local model on the project's chapters (start / cancel / resume, progress), the
project's adapters with held-out perplexity base vs adapter (and, after DPO on the writer's choices, the
share of those choices the adapter prefers), and the adapter used for generation.

Handlers are thin adapters over `studio.style`; API names: export_datasets, start_finetune,
finetune_progress, cancel_finetune, list_adapters, use_adapter.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, markdown_table
from app.ui.inputs import as_whole, require_id

LAYOUTS = ["trl", "swift", "card"]  # dataset layouts, labelled through the "dataset_layout" enum
PROGRESS_POLL_S = 1.0  # seconds between progress reads while a fine-tune runs


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_style", id="style"):
        with gr.Row():
            with gr.Column():
                tr.markdown("style_datasets_heading")
                layouts = tr.enum_choices("dataset_layout", LAYOUTS)
                layout = tr.with_choices(tr.make(gr.Radio, "style_layout", choices=layouts(tr.language), value="trl",
                                                 elem_id="style-layout"), layouts)
                export = tr.button("style_export", elem_id="style-export")
                counts = gr.Markdown(elem_id="style-export-counts")
                files = tr.make(gr.File, "style_files", file_count="multiple", interactive=False,
                                elem_id="style-files")
            with gr.Column():
                tr.markdown("style_finetune_heading")
                name = tr.make(gr.Textbox, "style_adapter_name", value="my-style", elem_id="style-name")
                steps = tr.make(gr.Number, "style_steps", value=60, precision=None, elem_id="style-steps")
                dpo_steps = tr.make(gr.Number, "style_dpo_steps", value=0, precision=None, elem_id="style-dpo-steps")
                with gr.Row():
                    start = tr.button("style_start", variant="primary", elem_id="style-start")
                    cancel = tr.button("style_cancel", variant="stop", elem_id="style-cancel")
                progress = gr.Markdown(elem_id="style-progress")
        tr.markdown("style_adapters_heading")
        adapters = gr.Markdown(elem_id="style-adapters")
        with gr.Row():
            chosen = tr.make(gr.Dropdown, "style_use", choices=[], value="", allow_custom_value=True,
                             elem_id="style-use")
            apply = tr.button("style_apply", elem_id="style-apply")
            refresh = tr.button("style_refresh", elem_id="style-refresh")
        timer = gr.Timer(PROGRESS_POLL_S, active=False)  # ticks only while a fine-tune runs
    _wire(shell, layout, export, counts, files, name, (steps, dpo_steps), start, cancel, progress, adapters, chosen,
          apply, refresh, timer)


def _progress_text(shell: Shell, status: Any) -> str:
    tr = shell.tr
    if status is None:
        return tr("style_no_run")
    loss = "–" if status.loss is None else f"{status.loss:.3f}"
    eta = "–" if status.eta_s is None else f"{status.eta_s:.0f}"
    text = tr("style_progress", name=status.name, status=tr(f"style_status_{status.status}"), step=status.step,
              total=status.total_steps, loss=loss, eta=eta)
    if status.resumed_from:
        text += " " + tr("style_resumed", step=status.resumed_from)
    if status.error:
        text += " " + tr("style_failed", error=status.error)
    return text


def _adapter_table(shell: Shell, views: list[Any]) -> str:
    tr = shell.tr
    if not views:
        return tr("style_no_adapters")

    def ppl(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    def share(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.0f}%"

    rows = [[v.name + (" ✓" if v.active else ""), v.steps, ppl(v.heldout_ppl_base), ppl(v.heldout_ppl_adapter),
             share(v.dpo_accuracy), v.created] for v in views]
    headers = [tr("style_col_name"), tr("style_col_steps"), tr("style_col_ppl_base"), tr("style_col_ppl_adapter"),
               tr("style_col_dpo_accuracy"), tr("style_col_created")]
    return markdown_table(headers, rows) + "\n\n" + tr("style_ppl_method")


def _wire(shell: Shell, layout, export, counts, files, name, steps, start, cancel, progress, adapters, chosen,
          apply, refresh, timer) -> None:
    studio, tr = shell.studio, shell.tr

    @guarded
    def export_datasets(project_id: Any, layout_name: str):
        results = studio.style.export_datasets(require_id(project_id, "project"), layout_name or "trl")
        lines = [tr("style_rows", kind=r.kind.upper(), rows=r.rows, loaded=r.loaded_rows) for r in results]
        return "\n\n".join(lines), [str(r.path) for r in results]

    @guarded
    def start_finetune(project_id: Any, adapter_name: str, step_count: Any, dpo_count: Any = 0):
        status = studio.style.start_finetune(require_id(project_id, "project"), (adapter_name or "").strip(),
                                             as_whole(step_count, "steps", 1, 100_000, default=60),
                                             dpo_steps=as_whole(dpo_count, "steps", 0, 100_000, default=0))
        return _progress_text(shell, status), gr.Timer(active=True)

    @guarded
    def finetune_progress(project_id: Any):
        status = studio.style.finetune_status(require_id(project_id, "project"))
        running = status is not None and status.status in ("queued", "running")
        return _progress_text(shell, status), gr.Timer(active=running)

    @guarded
    def cancel_finetune(project_id: Any):
        return _progress_text(shell, studio.style.cancel_finetune(require_id(project_id, "project")))

    @guarded
    def list_adapters(project_id: Any):
        if project_id in (None, ""):
            return tr("style_no_adapters"), gr.update(choices=[("—", "")], value="")
        views = studio.style.list_adapters(require_id(project_id, "project"))
        active = next((v.name for v in views if v.active), "")
        choices = [(tr("style_base_model"), "")] + [(v.name, v.name) for v in views]
        return _adapter_table(shell, views), gr.update(choices=choices, value=active)

    @guarded
    def use_adapter(project_id: Any, adapter: str | None):
        studio.style.use_adapter(require_id(project_id, "project"), adapter or None)
        return list_adapters(project_id)

    # the named endpoint first: later (private) uses of the same function get suffixed names
    refresh.click(list_adapters, [shell.project], [adapters, chosen], api_name="list_adapters")
    export.click(export_datasets, [shell.project, layout], [counts, files], api_name="export_datasets")
    start.click(start_finetune, [shell.project, name, *steps], [progress, timer], api_name="start_finetune")
    cancel.click(cancel_finetune, [shell.project], [progress], api_name="cancel_finetune").then(
        list_adapters, [shell.project], [adapters, chosen], api_visibility="private")
    timer.tick(finetune_progress, [shell.project], [progress, timer], api_visibility="private")
    apply.click(use_adapter, [shell.project, chosen], [adapters, chosen], api_name="use_adapter")
    shell.project.change(list_adapters, [shell.project], [adapters, chosen], api_visibility="private")
    progress.change(list_adapters, [shell.project], [adapters, chosen], api_visibility="private")
