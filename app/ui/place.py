"""The remembered place: a reload or a restart reopens the project, chapter and tab the writer had
open (kept in the story store through `studio.preferences`), and the editor's cursor and scroll
position (kept in the browser's localStorage, per chapter).

Invariants: the page load selects the remembered project (its chapter list then selects that
project's remembered chapter, see `remembered_chapter`); every later choice of project, chapter or
tab is remembered at once; nothing deleted or trashed is ever reopened (the studio forgets it).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell
from app.ui.inputs import as_id

# Browser side: save the editor's selection and scroll per chapter, restore them when a chapter's
# text arrives (runs on every editor change; restores once per chapter opened).
EDITOR_PLACE_JS = """(chapter) => {
  window.inkstoneChapter = chapter;
  if (!window.inkstonePlaceWatch) {  // once per page: save on the editor's key/mouse/scroll events
    window.inkstonePlaceWatch = true;
    const save = (event) => {
      const box = event.target;
      if (!box || !box.closest || !box.closest("#editor") || box.tagName !== "TEXTAREA") return;
      if (window.inkstoneChapter === null || window.inkstoneChapter === undefined) return;
      if (box.dataset.inkstoneFor !== String(window.inkstoneChapter)) return;  // not restored yet
      localStorage.setItem("inkstone.editor." + window.inkstoneChapter, JSON.stringify(
        {start: box.selectionStart, end: box.selectionEnd, scroll: box.scrollTop}));
    };
    for (const name of ["keyup", "mouseup", "select", "scroll"]) document.addEventListener(name, save, true);
  }
  if (chapter === null || chapter === undefined || window.inkstoneRestoring === chapter) return [];
  window.inkstoneRestoring = chapter;
  const saved = JSON.parse(localStorage.getItem("inkstone.editor." + chapter) || "null");
  let tries = 0;
  const restore = () => {  // the Write tab may not be rendered yet: wait for its textarea
    const box = document.querySelector("#editor textarea");
    if (window.inkstoneRestoring !== chapter) return;
    if (!box || box.offsetParent === null) { if (tries++ < 3000) setTimeout(restore, 100); return; }
    if (saved) {
      const end = box.value.length;
      box.setSelectionRange(Math.min(saved.start, end), Math.min(saved.end, end));
      box.scrollTop = saved.scroll;
    }
    box.dataset.inkstoneFor = String(chapter);
  };
  setTimeout(restore, 80);
  return [];
}"""


def remembered_chapter(shell: Shell, project_id: Any) -> int | None:
    """The chapter last open in `project_id` (None when none is remembered or it is gone)."""
    ident = as_id(project_id)
    return shell.studio.preferences.place().chapters.get(ident) if ident is not None else None


def tabs_of(tabs: gr.Tabs) -> list[gr.Tab]:
    """The page's top-level tabs, in order (a tab's own sub-tabs are not remembered)."""
    return [c for c in tabs.children if isinstance(c, gr.Tab) and c.id is not None]


def opening(shell: Shell, tabs: gr.Tabs) -> tuple[list[Any], Any]:
    """The page-load part that reopens the remembered project and tab: (outputs, fn(request))."""

    def reopen(request: gr.Request) -> list[Any]:
        place = shell.studio.preferences.place()
        known = {tab.id for tab in tabs_of(tabs)}
        project = {"value": place.project_id} if place.project_id is not None else {}
        tab = {"selected": place.tab} if place.tab in known else {}
        return [project, tab]

    return [shell.project, tabs], reopen


def wire_place(shell: Shell, tabs: gr.Tabs) -> None:
    """Remember every choice of project, chapter and tab; keep the editor's cursor in the browser."""
    studio = shell.studio

    def project_chosen(project_id: Any) -> None:
        ident = as_id(project_id)
        if ident is not None:
            studio.preferences.remember_place(project_id=ident)

    def chapter_chosen(project_id: Any, chapter_id: Any) -> None:
        project, chapter = as_id(project_id), as_id(chapter_id)
        if project is not None and chapter is not None:
            studio.preferences.remember_place(project_id=project, chapter_id=chapter)

    shell.project.change(project_chosen, [shell.project], None, api_visibility="private")
    shell.chapter.change(chapter_chosen, [shell.project, shell.chapter], None, api_visibility="private")
    tab_ids = [str(tab.id) for tab in tabs_of(tabs)]

    def tab_chosen(selected: gr.SelectData) -> None:
        index = selected.index if isinstance(selected.index, int) else -1
        if 0 <= index < len(tab_ids):
            studio.preferences.remember_place(tab=tab_ids[index])

    tabs.select(tab_chosen, None, None, api_visibility="private")
    shell.editor.change(None, [shell.chapter], None, js=EDITOR_PLACE_JS, api_visibility="private")
