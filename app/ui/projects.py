"""The Projects tab: create, open, rename, delete to trash and restore projects and other trashed items."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, choices, dropdown_update, guarded, markdown_table
from app.ui.inputs import as_id, require_id
from app.ui.translator import writer_error
from app.ui.history import FieldHistory, as_version, coded, history_panel, loaded, wire_restore


def project_choices(shell: Shell) -> list[tuple[str, int]]:
    return choices(shell.studio.library.list_projects(), lambda p: f"{p.title} ({shell.tr.enum('language', p.language)})")


def _projects_table(shell: Shell) -> str:
    tr = shell.tr
    rows = [[p.id, p.title, tr.enum("language", p.language), p.genre, p.updated_at.strftime("%Y-%m-%d %H:%M")]
            for p in shell.studio.library.list_projects()]
    if not rows:
        return tr("projects_none")
    return markdown_table(["#", tr("project_title"), tr("project_language"), tr("project_genre"),
                           tr("updated")], rows)


def _trash_choices(shell: Shell, project_id: Any) -> list[tuple[str, str]]:
    items = shell.studio.library.list_trash(as_id(project_id))
    return [(f"{shell.tr.enum('trash', item.kind)}: {item.label}", f"{item.kind}:{item.id}") for item in items]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_projects", id="projects"):
        table = gr.Markdown(_projects_table(shell), elem_id="projects-table")
        with gr.Row():
            with gr.Column():
                tr.markdown("projects_new_heading")
                title = tr.make(gr.Textbox, "project_title", elem_id="new-project-title")
                language = tr.make(gr.Radio, "project_language", choices=[("中文", "zh"), ("English", "en")],
                                   value="zh", elem_id="new-project-language")
                genre = tr.make(gr.Textbox, "project_genre")
                synopsis = tr.make(gr.Textbox, "project_synopsis", lines=3)
                style_guide = tr.make(gr.Textbox, "project_style_guide", lines=3)
                create = tr.button("create_project", variant="primary", elem_id="create-project")
            with gr.Column():
                tr.markdown("projects_manage_heading")
                new_title = tr.make(gr.Textbox, "project_new_title", elem_id="project-title")
                rename = tr.button("rename_project")
                details = [tr.make(gr.Textbox, "project_synopsis", lines=3, elem_id="project-synopsis"),
                           tr.make(gr.Textbox, "project_style_guide", lines=3, elem_id="project-style-guide")]
                save_details = tr.button("save_project_details", elem_id="save-project-details")
                saved = gr.Markdown(elem_id="project-status")
                panel = history_panel(shell, "project", "details", "project")
                delete = tr.button("delete_project", variant="stop")
                trash = tr.make(gr.Dropdown, "trash", choices=_trash_choices(shell, None), allow_custom_value=True)
                refresh_trash = tr.button("refresh_trash", size="sm")
                restore = tr.button("restore_item")
        _wire_create(shell, table, (title, language, genre, synopsis, style_guide), create, trash)
        _wire_manage(shell, table, new_title, rename, delete, trash, refresh_trash, restore)
        _wire_details(shell, table, [new_title, *details], rename, save_details, saved, panel)


def _wire_create(shell: Shell, table: gr.Markdown, fields: tuple, create: gr.Button, trash: gr.Dropdown) -> None:
    studio = shell.studio

    @guarded
    def create_project(title: str, language: str, genre: str, synopsis: str, style_guide: str):
        project = studio.library.create_project(title, language=language or "zh", genre=genre or "",
                                        synopsis=synopsis or "", style_guide=style_guide or "")
        return gr.update(choices=project_choices(shell), value=project.id), _projects_table(shell)

    @guarded
    def list_projects():
        return _projects_table(shell), [[p.id, p.title, p.language] for p in studio.library.list_projects()]

    def on_page_load():
        return gr.update(choices=project_choices(shell)), _projects_table(shell), \
            gr.update(choices=_trash_choices(shell, None))

    shell.on_load.append((on_page_load, [shell.project, table, trash]))
    create.click(create_project, list(fields), [shell.project, table], api_name="create_project")
    listing = gr.JSON(visible=False)
    gr.Button(visible=False).click(list_projects, None, [table, listing], api_name="list_projects")


def _wire_manage(shell: Shell, table: gr.Markdown, new_title: gr.Textbox, rename: gr.Button, delete: gr.Button,
                 trash: gr.Dropdown, refresh_trash: gr.Button, restore: gr.Button) -> None:
    studio = shell.studio

    @guarded
    def delete_project(project_id: Any):
        studio.library.delete_project(require_id(project_id, "project"))
        return dropdown_update(project_choices(shell)), _projects_table(shell), \
            gr.update(choices=_trash_choices(shell, None), value=None)

    @guarded
    def list_trash(project_id: Any):
        return gr.update(choices=_trash_choices(shell, None), value=None)

    @guarded
    def restore_item(value: Any, current_project: Any):
        if not value or ":" not in str(value):
            raise writer_error(shell.tr("choose_trash_item"))
        kind, item_id = str(value).split(":", 1)
        if kind == "project":
            studio.library.restore_project(int(item_id))
        else:
            studio.library.restore_item(kind, int(item_id))
        keep = int(item_id) if kind == "project" else current_project
        return (dropdown_update(project_choices(shell), keep),
                _projects_table(shell), gr.update(choices=_trash_choices(shell, None), value=None))

    delete.click(delete_project, [shell.project], [shell.project, table, trash], api_name="delete_project")
    refresh_trash.click(list_trash, [shell.project], [trash], api_name="list_trash")
    restore.click(restore_item, [trash, shell.project], [shell.project, table, trash], api_name="restore_item")


def _details_values(project: Any) -> list[Any]:
    return [project.title, project.synopsis, project.style_guide]


def _wire_details(shell: Shell, table: gr.Markdown, fields: list[Any], rename: gr.Button, save: gr.Button,
                  saved: gr.Markdown, panel: FieldHistory) -> None:
    """Title, synopsis and style guide of the open project: one field group, saved on its version."""
    studio, tr = shell.studio, shell.tr

    @coded(shell)
    def load_details(project_id: Any):
        ident = as_id(project_id, "project")
        project = studio.library.get_project(ident) if ident is not None else None
        values = _details_values(project) if project else [""] * len(fields)
        return [*values, *loaded(shell, panel, project, project.version if project else 0)]

    def saved_outputs(project: Any) -> tuple[Any, ...]:
        return (dropdown_update(project_choices(shell), project.id), _projects_table(shell),
                *loaded(shell, panel, project, project.version), tr("group_saved", version=project.version))

    @coded(shell)
    def rename_project(project_id: Any, version: Any, title: str):
        project = studio.library.update_project(require_id(project_id, "project"), base_version=as_version(version),
                                                title=title)
        return saved_outputs(project)

    @coded(shell)
    def save_details(project_id: Any, version: Any, title: str, synopsis: str, style_guide: str):
        project = studio.library.update_project(require_id(project_id, "project"), base_version=as_version(version),
                                                title=title, synopsis=synopsis or "", style_guide=style_guide or "")
        return saved_outputs(project)

    out = [shell.project, table, panel.version, panel.picker, saved]
    shell.project.change(load_details, [shell.project], [*fields, panel.version, panel.picker],
                         api_name="open_project_details")
    rename.click(rename_project, [shell.project, panel.version, fields[0]], out, api_name="rename_project")
    save.click(save_details, [shell.project, panel.version, *fields], out, api_name="update_project_details")
    wire_restore(shell, panel, shell.project, fields, _details_values, lambda p: p.version, saved,
                 api_name="restore_project_version")
