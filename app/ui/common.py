"""Shared plumbing for the tabs: the Shell every tab builds on, error mapping, streaming adapters.

Invariants:
- A StudioError never reaches the writer as a traceback: `guarded` turns it into `gr.Error(message)`.
- Every streamed handler streams its `Generation` through `stream`, registered for its browser session:
  the session's Stop calls `stop()` (a final "cancelled" update follows), a closed page `abandon()`, and
  a handler that ends early closes the updates (abandoned: the engine is cancelled, the text kept).
- Ids travel through dropdowns as ints; `as_id` turns whatever a browser or API client sent into one.
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
from app.ui.strings import t


class Translator:
    """Creates labelled components and remembers them, so a language switch can relabel them all.

    The language is the writer's preference for this (local, single-writer) studio: a switch in any
    tab changes it for labels and for the messages handlers write from then on."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._labelled: list[tuple[Any, str, str]] = []  # (component, string key, attribute)

    def __call__(self, key: str, **fmt: Any) -> str:
        return t(self.language, key, **fmt)

    def register(self, component: Any, key: str, attr: str = "label") -> Any:
        self._labelled.append((component, key, attr))
        return component

    def make(self, cls: Callable[..., Any], key: str, attr: str = "label", **kwargs: Any) -> Any:
        kwargs[attr] = self(key)
        return self.register(cls(**kwargs), key, attr)

    def button(self, key: str, **kwargs: Any) -> gr.Button:
        return self.make(gr.Button, key, attr="value", **kwargs)

    def markdown(self, key: str, **kwargs: Any) -> gr.Markdown:
        return self.make(gr.Markdown, key, attr="value", **kwargs)

    def tab(self, key: str, **kwargs: Any) -> gr.Tab:
        return self.make(gr.Tab, key, **kwargs)

    @property
    def components(self) -> list[Any]:
        return [component for component, _, _ in self._labelled]

    def relabel(self, language: str) -> list[Any]:
        """Make `language` the interface language (labels and every message from now on); returns one
        update per registered component, in registration order (the outputs of a switch)."""
        self.language = language
        return [gr.update(**{attr: t(language, key)}) for _, key, attr in self._labelled]


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
    project: gr.Dropdown = None  # type: ignore[assignment]  # value: project id
    chapter: gr.Dropdown = None  # type: ignore[assignment]  # value: chapter id
    version: gr.State = None  # type: ignore[assignment]  # chapter version the editor was loaded at
    editor: gr.Textbox = None  # type: ignore[assignment]  # set by the write tab
    status: gr.Markdown = None  # type: ignore[assignment]  # set by the write tab
    revisions: gr.Dropdown = None  # type: ignore[assignment]  # the open chapter's revisions (write tab)
    # (fn, outputs) run on every page load, so a reloaded page shows what other tabs created since
    on_load: list[tuple[Callable[..., Any], list[Any]]] = field(default_factory=list)


def as_id(value: Any) -> int | None:
    """A dropdown/API value as an int id, or None when nothing is selected."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (list, tuple)):
        value = value[-1]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise gr.Error(f"Not a valid selection: {value!r}") from None


def require_id(value: Any, what: str) -> int:
    ident = as_id(value)
    if ident is None:
        raise gr.Error(f"Choose a {what} first.")
    return ident


def as_seed(value: Any) -> int | None:
    """Empty or negative seed means 'let the studio pick one'."""
    if value is None or value == "":
        return None
    seed = int(value)
    return seed if seed >= 0 else None


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show a StudioError (or bad input) to the writer as a clear message, never a traceback.

    Works for plain handlers and for generator handlers (streamed generation)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except (StudioError, ValueError) as exc:
                raise gr.Error(str(exc)) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (StudioError, ValueError) as exc:
            raise gr.Error(str(exc)) from None

    return wrapper


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def stream(shell: Shell, request: gr.Request | None, generation: Generation) -> Iterator[GenerationUpdate]:
    """Stream a generation, registered for its session (so the session's Stop or closing its page
    reaches it); the updates end early (no final update) when the page was closed."""
    session = session_of(request)
    shell.live.add(session, generation)
    updates = generation.updates()
    try:
        for update in updates:
            if update.error:
                gr.Warning(update.error)
            yield update
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
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
    """Warn about a refused save; the status line text (the editor keeps the writer's text)."""
    gr.Warning(str(conflict))
    return f"⚠ {conflict}"


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
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
