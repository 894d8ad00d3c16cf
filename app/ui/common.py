"""Shared plumbing for the tabs: the Shell every tab builds on, error mapping, streaming adapters.

Invariants:
- A StudioError never reaches the writer as a traceback: `guarded` turns it into `gr.Error(message)`.
- Every streamed handler streams its `Generation` through `stream`, registered for its browser session:
  the session's Stop calls `stop()` (a final "cancelled" update follows), a closed page `abandon()`, and
  a handler that ends early closes the updates (abandoned: the engine is cancelled, the text kept).
- Ids travel through dropdowns as ints; `as_id` (app/ui/inputs.py) turns whatever a browser or API client
  sent into one. The session's language and the toasts live in app/ui/translator.py.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.studio import Generation, GenerationUpdate, Studio, StudioError
from app.ui.inputs import as_id
from app.ui.safe_text import md_cell, md_text
from app.ui.translator import Translator, current_translator, session_of, writer_error, writer_warning
from messages import Message


class LiveGenerations:
    """The generations each browser session is streaming, so Stop or a closed page stops exactly that
    session's runs (never another writer's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_session: dict[str, set[Generation]] = {}

    def add(self, session: str, generation: Generation) -> None:
        with self._lock:
            self._by_session.setdefault(session, set()).add(generation)

    def discard(self, session: str, generation: Generation) -> None:
        with self._lock:
            self._by_session.get(session, set()).discard(generation)

    def running(self, session: str) -> bool:
        """Whether the session streams something right now (the desk's autosave waits for it)."""
        with self._lock:
            return bool(self._by_session.get(session))

    def stop_session(self, session: str) -> None:
        """Stop the session's generations; each ends with its final (cancelled) update."""
        with self._lock:
            generations = list(self._by_session.get(session, set()))
        for generation in generations:
            generation.stop()

    def close_session(self, session: str) -> None:
        """A closed page: abandon its generations (the engine is cancelled, the streamed text kept, the
        chapter untouched; not `stop()`, which would add the text to the chapter)."""
        with self._lock:
            generations = self._by_session.pop(session, set())
        for generation in generations:
            generation.abandon()


@dataclass
class Shell:
    """What every tab shares: the studio, strings, and the header selectors."""

    studio: Studio
    tr: Translator
    live: LiveGenerations
    # Set while the page is laid out (the header, then the write tab), before any tab reads them.
    project: gr.Dropdown = field(init=False)  # value: project id
    chapter: gr.Dropdown = field(init=False)  # value: chapter id
    version: gr.State = field(init=False)  # chapter version the editor was loaded at
    editor: gr.Textbox = field(init=False)  # set by the write tab
    status: gr.Markdown = field(init=False)  # set by the write tab
    revisions: gr.Dropdown = field(init=False)  # the open chapter's revisions (write tab)
    model_timer: gr.Timer = field(init=False)  # ticks while the model loads (app/ui/model_state.py)
    # (fn, outputs) run on every page load, so a reloaded page shows what other tabs created since
    on_load: list[tuple[Callable[..., Any], list[Any]]] = field(default_factory=list)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show a StudioError (or bad input) to the writer as a clear message, never a traceback.

    Works for plain handlers and for generator handlers (streamed generation)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except (StudioError, ValueError) as exc:
                raise writer_error(_shown(exc)) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (StudioError, ValueError) as exc:
            raise writer_error(_shown(exc)) from None

    return wrapper


def _shown(exc: Exception) -> str:
    """An error for the writer, in the language of the session being handled (the Translator of the
    app handling the request is attached to its Blocks by build_app)."""
    return current_translator().text(exc)


def stream(shell: Shell, request: gr.Request | None, generation: Generation) -> Iterator[GenerationUpdate]:
    """Stream a generation, registered for its session (so the session's Stop or closing its page
    reaches it); the updates end early (no final update) when the page was closed."""
    session = session_of(request)
    shell.live.add(session, generation)
    updates = generation.updates()
    try:
        for update in updates:
            if update.error:
                writer_warning(shell.tr.text(update.error))
            yield update
    except StudioError as exc:
        raise writer_error(shell.tr.text(exc)) from None
    finally:
        shell.live.discard(session, generation)
        updates.close()  # a no-op after the final update; otherwise the generation is abandoned


def stop_session(shell: Shell, request: gr.Request | None) -> None:
    """Stop this browser session's generations; each ends with its final (cancelled) update."""
    shell.live.stop_session(session_of(request))


def wire_stop(shell: Shell, button: Any, status: Any = None, **api: Any) -> None:
    """Stop button: cancels this session's runs (no `cancels=`, so each final update still reaches the
    page and the editor's base version stays right)."""

    def stop(request: gr.Request):
        stop_session(shell, request)
        return shell.tr("stopped") if status is not None else None

    button.click(stop, None, [status] if status is not None else None, **(api or {"api_visibility": "private"}))


def conflict_message(conflict: Exception) -> str:
    """Warn about a refused save; the status line text (the editor keeps the writer's text). A conflict
    raised with a code is rendered from it; one from the store is told from its facts (versions)."""
    tr = current_translator()
    message = getattr(conflict, "message", None)
    current, base = getattr(conflict, "current_version", None), getattr(conflict, "base_version", None)
    if not (isinstance(message, Message)) and current is not None and base is not None:
        shown = tr("save_conflict", current=current, base=base)
    else:
        shown = tr.text(conflict)
    writer_warning(shown)
    return f"⚠ {md_text(shown)}"


def as_shown(text: str) -> str:
    """Text as a browser's textarea holds it (line breaks normalised to \\n), for "was it edited?"."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sync_editor(shell: Shell, chapter_id: int, editor_text: Any, base_version: Any) -> Any:
    """Save the editor's unsaved text before an action that changes or reads the chapter.

    Returns the chapter as stored afterwards; a stale `base_version` raises SaveConflict and nothing is
    written. `editor_text` None means "no editor text sent" (an API caller), so nothing is saved."""
    chapter = shell.studio.chapters.get_chapter(chapter_id)
    if editor_text is None or as_shown(editor_text) == as_shown(chapter.text):
        return chapter
    return shell.studio.chapters.save_chapter(chapter_id, editor_text, base_version)


def choices(records: list[Any], label: Callable[[Any], str]) -> list[tuple[str, int]]:
    return [(label(r), r.id) for r in records]


def dropdown_update(options: list[tuple[str, int]], keep: Any = None) -> Any:
    """New choices, keeping the current selection when it still exists (else the first)."""
    ids = [value for _, value in options]
    current = as_id(keep) if keep not in (None, "") else None
    value = current if current in ids else (ids[0] if ids else None)
    return gr.update(choices=options, value=value)


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]  # cells are data: text only
    return "\n".join(lines)
