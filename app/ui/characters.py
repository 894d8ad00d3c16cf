"""The Characters tab: every character-sheet field, pinning, Character Card import/export, mentions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.common import Shell, dropdown_update, guarded
from app.ui.inputs import as_id, require_id
from app.ui.translator import writer_error
from app.ui.history import FieldHistory, as_version, coded, history_panel, loaded, wire_restore
from app.ui.safe_text import md_text, toast_text
from app.ui.views import character_choices

TEXT_FIELDS = ("description", "personality", "appearance", "background", "speech_style", "greeting",
               "example_dialogue", "scenario")


def _split_aliases(text: str) -> list[str]:
    return [a.strip() for a in (text or "").replace("，", ",").split(",") if a.strip()]


def _sheet(name: str, aliases: str, pinned: bool, values: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = dict(zip(TEXT_FIELDS, (v or "" for v in values)))
    fields.update(name=(name or "").strip(), aliases=_split_aliases(aliases), pinned=bool(pinned))
    return fields


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_characters", id="characters"):
        with gr.Row():
            picker = tr.make(gr.Dropdown, "character", choices=[], allow_custom_value=True, scale=3,
                             elem_id="character-picker")
            new = tr.button("new_character", size="sm", scale=1)
        with gr.Row():
            name = tr.make(gr.Textbox, "character_name", elem_id="character-name")
            aliases = tr.make(gr.Textbox, "character_aliases")
            pinned = tr.make(gr.Checkbox, "character_pinned")
        with gr.Row():
            texts = [tr.make(gr.Textbox, f"character_{f}", lines=3) for f in TEXT_FIELDS[:4]]
        with gr.Row():
            texts += [tr.make(gr.Textbox, f"character_{f}", lines=3) for f in TEXT_FIELDS[4:]]
        with gr.Row():
            add = tr.button("add_character", variant="primary", elem_id="add-character")
            save = tr.button("save_character")
            delete = tr.button("delete_character", variant="stop")
        saved = gr.Markdown(elem_id="character-status")
        panel = history_panel(shell, "character", "sheet", "character")
        mentions = gr.Markdown()
        with gr.Row():
            card_in = tr.make(gr.File, "import_card", file_types=[".png", ".json"], type="filepath",
                              elem_id="card-import")
            card_fmt = tr.make(gr.Radio, "card_format", choices=["png", "json"], value="json")
            export = tr.button("export_card")
            card_out = tr.make(gr.File, "card_file", interactive=False)
    form = [name, aliases, pinned, *texts]
    _wire_sheet(shell, picker, new, form, add, save, delete, mentions, panel, saved)
    _wire_cards(shell, picker, card_in, card_fmt, export, card_out)


def _form_values(character: Any) -> list[Any]:
    """A character as the form shows it (name, aliases, pinned, TEXT_FIELDS)."""
    return [character.name, ", ".join(character.aliases), character.pinned,
            *[getattr(character, f) for f in TEXT_FIELDS]]


def _character_loader(shell: Shell, panel: FieldHistory):
    """Handler: a character's sheet as form values, the chapters that mention it, its version and history."""
    studio, tr = shell.studio, shell.tr

    @coded(shell)
    def load_character(character_id: Any):
        ident = as_id(character_id, "character")
        if ident is None:
            return [""] * 2 + [False] + [""] * len(TEXT_FIELDS) + ["", *loaded(shell, panel, None, 0)]
        character = studio.library.get_character(ident)
        chapters = studio.library.chapters_mentioning_character(ident)
        names = ", ".join(f"{c.ordinal}. {md_text(c.title)}" for c in chapters) or tr("none")
        mentions = f"**{tr('mentioned_in')}:** {names}"
        return [*_form_values(character), mentions, *loaded(shell, panel, character, character.version)]

    return load_character


def _wire_sheet(shell: Shell, picker, new, form, add, save, delete, mentions, panel: FieldHistory, saved) -> None:
    studio, tr = shell.studio, shell.tr

    def refreshed(project_id: Any, keep: Any = None):
        return dropdown_update(character_choices(shell, project_id), keep)

    @guarded
    def add_character(project_id: Any, name: str, aliases: str, pinned: bool, description: str, personality: str,
                      appearance: str, background: str, speech_style: str, greeting: str, example_dialogue: str,
                      scenario: str):
        fields = _sheet(name, aliases, pinned, (description, personality, appearance, background, speech_style,
                                                greeting, example_dialogue, scenario))
        character = studio.library.create_character(require_id(project_id, "project"), fields.pop("name"), **fields)
        return refreshed(project_id, character.id)

    @coded(shell)
    def update_character(project_id: Any, character_id: Any, version: Any, name: str, aliases: str, pinned: bool,
                         description: str, personality: str, appearance: str, background: str, speech_style: str,
                         greeting: str, example_dialogue: str, scenario: str):
        """Saves the sheet based on the version it was opened at; a stale one is refused (form kept)."""
        sheet = _sheet(name, aliases, pinned, (description, personality, appearance, background, speech_style,
                                               greeting, example_dialogue, scenario))
        character = studio.library.update_character(require_id(character_id, "character"),
                                                    base_version=as_version(version), **sheet)
        return (refreshed(project_id, character.id), *loaded(shell, panel, character, character.version),
                tr("group_saved", version=character.version))

    @guarded
    def delete_character(project_id: Any, character_id: Any):
        studio.library.delete_character(require_id(character_id, "character"))
        return refreshed(project_id)

    shell.project.change(refreshed, [shell.project], [picker], api_visibility="private")
    picker.change(_character_loader(shell, panel), [picker], [*form, mentions, panel.version, panel.picker],
                  api_name="open_character")
    new.click(lambda: [None, "", "", False, *[""] * len(TEXT_FIELDS), ""], None, [picker, *form, mentions],
              api_visibility="private")
    add.click(add_character, [shell.project, *form], [picker], api_name="add_character")
    save.click(update_character, [shell.project, picker, panel.version, *form],
               [picker, panel.version, panel.picker, saved], api_name="update_character")
    wire_restore(shell, panel, picker, form, _form_values, lambda c: c.version, saved,
                 api_name="restore_character_version")
    delete.click(delete_character, [shell.project, picker], [picker], api_name="delete_character")


def _wire_cards(shell: Shell, picker, card_in, card_fmt, export, card_out) -> None:
    studio = shell.studio

    @guarded
    def import_card(project_id: Any, path: str | None):
        if not path:
            raise writer_error(shell.tr("choose_file"))
        data = Path(path).read_bytes()
        character = studio.exchange.import_character_card(require_id(project_id, "project"), Path(path).name, data)
        gr.Info(toast_text(shell.tr("card_imported", name=character.name, file=Path(path).name)))
        return dropdown_update(character_choices(shell, project_id), character.id)

    @guarded
    def export_card(character_id: Any, fmt: str):
        return str(studio.exchange.export_character_card(require_id(character_id, "character"), fmt or "json"))

    card_in.upload(import_card, [shell.project, card_in], [picker], api_name="import_card")
    export.click(export_card, [picker, card_fmt], [card_out], api_name="export_card")

