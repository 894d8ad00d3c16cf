"""The Settings tab: the loaded engine and model (quantization, context length, device memory), the
project's sampling defaults, and the interface language.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, markdown_table
from app.ui.inputs import as_finite, as_id, as_whole, require_id
from app.ui.translator import writer_error
from app.ui.history import FieldHistory, as_version, coded, history_panel, loaded, wire_restore

SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty")


def engine_table(shell: Shell) -> str:
    info, tr = shell.studio.settings.engine_info(), shell.tr
    demo = bool(getattr(shell.studio.options, "demo", False))
    notes = tr("demo_notes") if demo else tr.text(info.notes)  # the demo engine's own note is English
    rows: list[list[Any]] = [[tr("engine_kind"), tr.enum("engine", info.kind)], [tr("engine_model"), info.model_id],
            [tr("engine_quantization"), info.quantization or "—"], [tr("engine_context"), info.context_length],
            [tr("engine_device"), info.device or "—"], [tr("engine_memory"), info.memory or "—"],
            [tr("engine_notes"), notes or "—"]]
    return markdown_table([tr("setting"), tr("value")], rows)


def build(shell: Shell) -> gr.Radio:
    """Lay out the tab; returns the language selector (build_app wires it to every label)."""
    tr = shell.tr
    with tr.tab("tab_settings", id="settings"):
        language = tr.make(gr.Radio, "ui_language", choices=[("English", "en"), ("中文", "zh")],
                           value=tr.language, elem_id="ui-language")
        tr.markdown("engine_heading")
        engine = gr.Markdown(engine_table(shell), elem_id="engine-info")
        shell.on_load.append((lambda: engine_table(shell), [engine]))  # in the page's language
        shell.model_timer.tick(lambda: engine_table(shell), None, [engine], api_visibility="private",
                               show_progress="hidden")  # while the model loads
        refresh = tr.button("refresh_engine", size="sm")
        tr.markdown("sampling_heading")
        with gr.Row():
            temperature = tr.make(gr.Slider, "temperature", minimum=0, maximum=2, step=0.05, value=0.8)
            top_p = tr.make(gr.Slider, "top_p", minimum=0.05, maximum=1, step=0.01, value=0.9)
            top_k = tr.make(gr.Number, "top_k", precision=None, value=50, minimum=0)
            min_p = tr.make(gr.Slider, "min_p", minimum=0, maximum=0.99, step=0.01, value=0.0)
            penalty = tr.make(gr.Slider, "repetition_penalty", minimum=0.5, maximum=2, step=0.01, value=1.05)
        save = tr.button("save_sampling", variant="primary")
        status = gr.Markdown(elem_id="sampling-status")
        panel = history_panel(shell, "project", "settings", "sampling")
        _backups(shell)
    sampling = [temperature, top_p, top_k, min_p, penalty]
    _wire(shell, engine, refresh, sampling, save, status, panel)
    wire_restore(shell, panel, shell.project, sampling, lambda p: _sampling_values(shell, p.id),
                 lambda p: p.settings_version, status, api_name="restore_settings_version")
    return language


def backup_choices(shell: Shell) -> list[tuple[str, str]]:
    """(when · size, backup name), newest first."""
    return [(f"{b.created_at:%Y-%m-%d %H:%M:%S} UTC · {max(1, b.size_bytes // 1024):,} KiB", b.name)
            for b in shell.studio.settings.list_backups()]


def _backups(shell: Shell) -> None:
    """The backups section: list, back up now, restore one (after ticking the confirmation)."""
    studio, tr = shell.studio, shell.tr
    tr.markdown("backups_heading")
    with gr.Row():
        chosen = tr.make(gr.Dropdown, "backup", choices=backup_choices(shell), value=None,
                         allow_custom_value=True, elem_id="backup-picker", scale=3)
        refresh = tr.button("refresh_backups", size="sm")
        make = tr.button("backup_now", size="sm", elem_id="backup-now")
    with gr.Row():
        confirm = tr.make(gr.Checkbox, "restore_confirm", value=False, elem_id="restore-confirm")
        restore = tr.button("restore_backup", variant="stop", size="sm", elem_id="restore-backup")
    status = gr.Markdown(elem_id="backup-status")

    @guarded
    def backup_now():
        made = studio.settings.backup_now()
        return gr.update(choices=backup_choices(shell), value=made.name), tr("backup_made", name=made.name)

    @guarded
    def restore_backup(name: Any, confirmed: bool):
        if not name:
            raise writer_error(tr("backup_choose"))
        if not confirmed:
            return gr.skip(), tr("restore_unconfirmed"), gr.skip()
        done = studio.settings.restore_backup(str(name))
        when = f"{done.restored.created_at:%Y-%m-%d %H:%M:%S}"
        return (gr.update(choices=backup_choices(shell), value=None),
                tr("backup_restored", when=when, safety=done.safety), False)

    refresh.click(lambda: gr.update(choices=backup_choices(shell)), None, [chosen], api_name="list_backups")
    make.click(backup_now, None, [chosen, status], api_name="backup_now")
    restore.click(restore_backup, [chosen, confirm], [chosen, status, confirm], api_name="restore_backup")


def _sampling_values(shell: Shell, project_id: int) -> list[Any]:
    params = shell.studio.settings.sampling_defaults(project_id)
    return [getattr(params, f) for f in SAMPLING_FIELDS]


def _wire(shell: Shell, engine, refresh, sampling, save, status, panel: FieldHistory) -> None:
    studio, tr = shell.studio, shell.tr

    @coded(shell)
    def load_sampling(project_id: Any):
        ident = as_id(project_id, "project")
        if ident is None:
            return [gr.skip()] * len(SAMPLING_FIELDS) + [*loaded(shell, panel, None, 0)]
        project = studio.library.get_project(ident)
        return [*_sampling_values(shell, ident), *loaded(shell, panel, project, project.settings_version)]

    @coded(shell)
    def save_sampling(project_id: Any, version: Any, temperature: float, top_p: float, top_k: int, min_p: float,
                      repetition_penalty: float):
        """Saves the defaults based on the settings version they were loaded at (stale: refused)."""
        ident = require_id(project_id, "project")
        # the project's current defaults with the form's values (the studio validates them)
        params = replace(studio.settings.sampling_defaults(ident), temperature=as_finite(temperature, "Temperature"),
                         top_p=as_finite(top_p, "Top-p"), top_k=as_whole(top_k, "Top-k", 0, 100_000, default=0),
                         min_p=as_finite(min_p, "Min-p"),
                         repetition_penalty=as_finite(repetition_penalty, "Repetition penalty"))
        project = studio.settings.set_sampling_defaults(ident, params, base_version=as_version(version))
        return (tr("sampling_saved"), *loaded(shell, panel, project, project.settings_version))

    refresh.click(lambda: engine_table(shell), None, [engine], api_name="engine_info")
    shell.project.change(load_sampling, [shell.project], [*sampling, panel.version, panel.picker],
                         api_name="sampling_defaults")
    save.click(save_sampling, [shell.project, panel.version, *sampling], [status, panel.version, panel.picker],
               api_name="set_sampling")
