"""The Lore tab: World-Info style entries (every field), the characters whose cards carry an entry,
lorebook import and export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.common import Shell, choices, dropdown_update, guarded
from app.ui.inputs import as_id, as_whole, require_id
from app.ui.safe_text import toast_text
from app.ui.translator import writer_error
from app.ui.history import FieldHistory, as_version, coded, history_panel, loaded, wire_restore

LOGICS = ["and_any", "and_all", "not_any", "not_all"]
POSITIONS = ["before_char", "after_char", "at_depth"]
TEXTS = ("title", "content", "keys", "secondary_keys")
FLAGS = ("constant", "enabled", "case_sensitive", "match_whole_words", "ignore_budget", "exclude_recursion",
         "prevent_recursion")
NUMBERS = ("insertion_order", "depth", "probability")


def lore_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return choices(shell.studio.library.list_lore(ident), lambda e: e.title or ", ".join(e.keys) or f"#{e.id}")


def character_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    return choices(shell.studio.library.list_characters(ident), lambda c: c.name) if ident is not None else []


def _split_links(values: tuple[Any, ...], form_size: int) -> tuple[tuple[Any, ...], list[int] | None]:
    """(form values, linked character ids) from a handler's inputs (the links come last; a call without
    them keeps the entry's links). A stale or odd id is refused by name."""
    if len(values) <= form_size:
        return values, None
    return values[:form_size], [require_id(v, "character") for v in (values[form_size] or [])]


def _keys(text: str) -> list[str]:
    """Keys edited one per line, so a regex like `/a{1,3}/i` or a key with a comma survives unchanged."""
    return [k.strip() for k in (text or "").splitlines() if k.strip()]


def _entry_fields(values: tuple[Any, ...]) -> dict[str, Any]:
    """Form values (TEXTS, logic, position, FLAGS, NUMBERS in that order) as store fields."""
    title, content, keys, secondary = values[:4]
    logic, position = values[4:6]
    flags = values[6:6 + len(FLAGS)]
    numbers = values[6 + len(FLAGS):]
    fields: dict[str, Any] = dict(title=title or "", content=content or "", keys=_keys(keys),
                                  secondary_keys=_keys(secondary), selective_logic=logic or "and_any",
                                  position=position or "before_char")
    fields.update({name: bool(v) for name, v in zip(FLAGS, flags)})
    fields.update({name: as_whole(v, name, -(2**31), 2**31 - 1, default=0) for name, v in zip(NUMBERS, numbers)})
    return fields


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_lore", id="lore"):
        with gr.Row():
            picker = tr.make(gr.Dropdown, "lore_entry", choices=[], allow_custom_value=True, scale=3)
            new = tr.button("new_lore", size="sm", scale=1)
        with gr.Row():
            texts = [tr.make(gr.Textbox, f"lore_{TEXTS[0]}"), tr.make(gr.Textbox, f"lore_{TEXTS[2]}", lines=3),
                     tr.make(gr.Textbox, f"lore_{TEXTS[3]}", lines=3)]
        content = tr.make(gr.Textbox, "lore_content", lines=4)
        texts.insert(1, content)
        with gr.Row():
            logics, positions = tr.enum_choices("logic", LOGICS), tr.enum_choices("position", POSITIONS)
            logic = tr.with_choices(tr.make(gr.Dropdown, "lore_selective_logic", choices=logics(tr.language),
                                            value="and_any"), logics)
            position = tr.with_choices(tr.make(gr.Dropdown, "lore_position", choices=positions(tr.language),
                                               value="before_char"), positions)
            flags = [tr.make(gr.Checkbox, f"lore_{f}", value=(f == "enabled")) for f in FLAGS]
        linked = tr.make(gr.Dropdown, "lore_linked_characters", choices=[], value=[], multiselect=True,
                         allow_custom_value=True,
                         elem_id="lore-linked")
        with gr.Row():
            defaults = {"insertion_order": 100, "depth": 4, "probability": 100}
            numbers = [tr.make(gr.Number, f"lore_{n}", value=defaults[n], precision=None) for n in NUMBERS]
        with gr.Row():
            add = tr.button("add_lore", variant="primary")
            save = tr.button("save_lore")
            delete = tr.button("delete_lore", variant="stop")
        saved = gr.Markdown(elem_id="lore-status")
        panel = history_panel(shell, "lore", "entry", "lore")
        with gr.Row():
            book_in = tr.make(gr.File, "import_lorebook", file_types=[".json", ".lorebook"], type="filepath",
                              elem_id="lorebook-import")
            export = tr.button("export_lorebook")
            book_out = tr.make(gr.File, "lorebook_file", interactive=False)
    form = [*texts, logic, position, *flags, *numbers]
    _wire_entries(shell, picker, new, form, linked, add, save, delete, panel, saved)
    _wire_lorebook(shell, picker, book_in, export, book_out)


def _form_values(entry: Any) -> list[Any]:
    """A lore entry as the form shows it (TEXTS, logic, position, FLAGS, NUMBERS)."""
    return [entry.title, entry.content, "\n".join(entry.keys), "\n".join(entry.secondary_keys),
            entry.selective_logic, entry.position, *[getattr(entry, f) for f in FLAGS],
            *[getattr(entry, n) for n in NUMBERS]]


def _wire_entries(shell: Shell, picker, new, form, linked, add, save, delete, panel: FieldHistory, saved) -> None:
    studio, tr = shell.studio, shell.tr

    def refreshed(project_id: Any, keep: Any = None):
        return dropdown_update(lore_choices(shell, project_id), keep)

    def links(project_id: Any, entry: Any = None):
        chosen = studio.library.linked_characters(entry) if entry is not None else []
        return gr.update(choices=character_choices(shell, project_id), value=chosen)

    @coded(shell)
    def load_entry(project_id: Any, entry_id: Any):
        ident, project = as_id(entry_id, "lore entry"), as_id(project_id, "project")
        entry = next((e for e in (studio.library.list_lore(project) if project else []) if e.id == ident), None)
        if entry is None:
            return [gr.skip()] * len(form) + [*loaded(shell, panel, None, 0), links(project_id)]
        return [*_form_values(entry), *loaded(shell, panel, entry, entry.version), links(project_id, entry)]

    @guarded
    def add_lore(project_id: Any, *values: Any):
        """`values`: the form, then the linked characters (last, so older API calls without it still work)."""
        form_values, characters = _split_links(values, len(form))
        entry = studio.library.create_lore_entry(require_id(project_id, "project"), characters,
                                                 **_entry_fields(form_values))
        return refreshed(project_id, entry.id)

    @coded(shell)
    def update_lore(project_id: Any, entry_id: Any, version: Any, *values: Any):
        """Saves the entry based on the version it was opened at; a stale one is refused (form kept)."""
        form_values, characters = _split_links(values, len(form))
        entry = studio.library.update_lore_entry(require_id(entry_id, "lore entry"), base_version=as_version(version),
                                                 linked_characters=characters, **_entry_fields(form_values))
        return (refreshed(project_id, entry.id), *loaded(shell, panel, entry, entry.version),
                tr("group_saved", version=entry.version))

    @coded(shell)
    def delete_lore(project_id: Any, entry_id: Any):
        studio.library.delete_lore_entry(require_id(entry_id, "lore entry"))
        return refreshed(project_id)

    blank = ["", "", "", "", "and_any", "before_char", *[f == "enabled" for f in FLAGS], 100, 4, 100]
    shell.project.change(lambda p: (refreshed(p), links(p)), [shell.project], [picker, linked],
                         api_visibility="private")
    picker.change(load_entry, [shell.project, picker], [*form, panel.version, panel.picker, linked],
                  api_name="open_lore")
    new.click(lambda p: [None, *blank, links(p)], [shell.project], [picker, *form, linked], api_visibility="private")
    add.click(add_lore, [shell.project, *form, linked], [picker], api_name="add_lore")
    save.click(update_lore, [shell.project, picker, panel.version, *form, linked],
               [picker, panel.version, panel.picker, saved], api_name="update_lore")
    wire_restore(shell, panel, picker, form, _form_values, lambda e: e.version, saved, api_name="restore_lore_version")
    delete.click(delete_lore, [shell.project, picker], [picker], api_name="delete_lore")


def _wire_lorebook(shell: Shell, picker, book_in, export, book_out) -> None:
    studio = shell.studio

    @guarded
    def import_lorebook(project_id: Any, path: str | None):
        if not path:
            raise writer_error(shell.tr("choose_file"))
        entries = studio.exchange.import_lorebook(require_id(project_id, "project"), Path(path).name, Path(path).read_bytes())
        gr.Info(toast_text(shell.tr("lorebook_imported", count=len(entries), file=Path(path).name)))
        return dropdown_update(lore_choices(shell, project_id), entries[0].id if entries else None)

    @guarded
    def export_lorebook(project_id: Any):
        return str(studio.exchange.export_lorebook(require_id(project_id, "project")))

    book_in.upload(import_lorebook, [shell.project, book_in], [picker], api_name="import_lorebook")
    export.click(export_lorebook, [shell.project], [book_out], api_name="export_lorebook")
