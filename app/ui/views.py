"""How records appear in more than one tab: dropdown choices and the editor's outputs after a save.

Invariant: tabs share code only through this module, `common` and `strings`; no tab imports another.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import Shell, as_id, choices


def chapter_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return choices(shell.studio.chapters.list_chapters(ident), lambda c: f"{c.ordinal}. {c.title or '—'}")


def revision_choices(shell: Shell, chapter_id: int) -> list[tuple[str, int]]:
    revisions = shell.studio.chapters.list_revisions(chapter_id)
    return [(f"v{r.version} · {r.source} · {r.created_at:%Y-%m-%d %H:%M:%S} · {len(r.text)}", r.id)
            for r in reversed(revisions)]


def character_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return choices(shell.studio.library.list_characters(ident), lambda c: ("★ " if c.pinned else "") + c.name)


def saved_outputs(shell: Shell, chapter: Any, message_key: str) -> tuple[Any, ...]:
    """(editor, version, status, revisions) after the chapter text changed."""
    return (chapter.text, chapter.version, shell.tr(message_key, version=chapter.version),
            gr.update(choices=revision_choices(shell, chapter.id), value=None))
