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
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.studio import Generation, GenerationUpdate, Studio, StudioError
from app.ui.strings import STRINGS, enum_label, message_text, t
from messages import Message
from app.ui.safe_text import md_cell, md_text, toast_text


class Translator:
    """Creates labelled components and remembers them, so a language switch can relabel them all.

    The language is per browser session: each page load settles it (see app/ui/language.py) and the
    handlers of that page then speak it — `tr(key)` looks up the session of the request being handled
    (Gradio's request context); outside a request, or for a session not settled yet, `default` is used."""

    def __init__(self, language: str) -> None:
        self.default = language
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()
        self._labelled: list[tuple[Any, str, str]] = []  # (component, string key, attribute)
        self._dynamic: list[tuple[Any, Callable[[str], dict[str, Any]]]] = []  # (component, language -> update)

    @property
    def language(self) -> str:
        session = current_session()
        with self._lock:
            return self._sessions.get(session, self.default) if session else self.default

    def use(self, session: str, language: str) -> None:
        """Settle the language of one browser session (a page load or a switch)."""
        with self._lock:
            if session:
                self._sessions[session] = language
            else:
                self.default = language

    def forget(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def __call__(self, key: str, **fmt: Any) -> str:
        return t(self.language, key, **fmt)

    def text(self, message: Any) -> str:
        """A Message (or an exception raised with one) in this session's language; plain text as it is."""
        return message_text(self.language, message)

    def enum(self, kind: str, value: Any) -> str:
        """An enumerated value (status, source, finish reason, ...) as the writer reads it."""
        return enum_label(self.language, kind, value)

    def register(self, component: Any, key: str, attr: str = "label") -> Any:
        self._labelled.append((component, key, attr))
        return component

    def dynamic(self, component: Any, update: Callable[[str], dict[str, Any]]) -> Any:
        """Register `component` for a switch with `update(language)` (e.g. translated choices)."""
        self._dynamic.append((component, update))
        return component

    def make(self, cls: Callable[..., Any], key: str, attr: str = "label", **kwargs: Any) -> Any:
        kwargs[attr] = self(key)
        return self.register(cls(**kwargs), key, attr)

    def with_choices(self, component: Any, choices_in: Callable[[str], list[Any]]) -> Any:
        """Register `component` so a switch gives it `choices_in(language)` (translated choice labels)."""
        return self.dynamic(component, lambda language: {"choices": choices_in(language)})

    def with_headers(self, component: Any, keys: Sequence[str]) -> Any:
        """Register a Dataframe so a switch gives it the column headers `keys` in the new language."""
        return self.dynamic(component, lambda language: {"headers": [t(language, k) for k in keys]})

    def enum_choices(self, kind: str, values: list[str]) -> Callable[[str], list[tuple[str, str]]]:
        """(label in a language, value) choices for enumerated `values` of `kind`."""
        return lambda language: [(enum_label(language, kind, v), v) for v in values]

    def button(self, key: str, **kwargs: Any) -> gr.Button:
        return self.make(gr.Button, key, attr="value", **kwargs)

    def markdown(self, key: str, **kwargs: Any) -> gr.Markdown:
        return self.make(gr.Markdown, key, attr="value", **kwargs)

    def tab(self, key: str, **kwargs: Any) -> gr.Tab:
        return self.make(gr.Tab, key, **kwargs)

    def labelled(self) -> list[tuple[Any, str, str]]:
        """(component, string key, attribute) of every labelled component, in registration order."""
        return list(self._labelled)

    @property
    def components(self) -> list[Any]:
        """Every relabelled component once, in registration order (the outputs of a switch)."""
        seen: dict[int, Any] = {}
        for component, *_ in [*self._labelled, *self._dynamic]:
            seen.setdefault(id(component), component)
        return list(seen.values())

    def updates(self, language: str) -> dict[int, dict[str, Any]]:
        """id(component) -> its update in `language` (labels, then translated choices)."""
        merged: dict[int, dict[str, Any]] = {}
        for component, key, attr in self._labelled:
            merged.setdefault(id(component), {})[attr] = t(language, key)
        for component, update in self._dynamic:
            merged.setdefault(id(component), {}).update(update(language))
        return merged

    def relabel(self, language: str) -> list[Any]:
        """Make `language` this session's interface language (labels and every message from now on);
        returns one update per component of `components`, in that order."""
        self.use(current_session(), language)
        merged = self.updates(language)
        return [gr.update(**merged[id(component)]) for component in self.components]


def current_session() -> str:
    """The browser session of the request being handled ("" outside a request)."""
    from gradio.context import LocalContext

    return session_of(LocalContext.request.get(None))




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
    # (fn, outputs) run on every page load, so a reloaded page shows what other tabs created since
    on_load: list[tuple[Callable[..., Any], list[Any]]] = field(default_factory=list)


MAX_ID = 2**63 - 1  # SQLite's INTEGER range


class BadInput(gr.Error):
    """A refused id or number from a browser or API client, as a code plus values (nothing changed)."""

    def __init__(self, message: str, code: str, **values: Any) -> None:
        super().__init__(toast_text(_refused_text(message, code, values)))
        self.code, self.values = code, values


def _refused_text(english: str, code: str, values: dict[str, Any]) -> str:
    """The catalogue's "err_" + code text in the session's language, or `english` when it cannot be filled."""
    try:
        tr = current_translator()
        return tr(f"err_{code}", **values) if f"err_{code}" in STRINGS else english
    except (KeyError, IndexError, ValueError):
        return english


def as_id(value: Any, what: str = "item") -> int | None:
    """A dropdown/API value as an int id, or None when nothing is selected.

    Nothing is coerced: 1.5, True, [1, 2] and "1a" are refused (id.not_whole_number), and so are 0,
    -1 and 10**20 (id.out_of_range); a string of digits (a dropdown's own value) is read as its number."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    shown = repr(value)[:60]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"Not a valid {what} id: {shown} (ids are whole numbers).", "id.not_whole_number",
                       entity=what, value=shown)
    if not 1 <= value <= MAX_ID:
        raise BadInput(f"Not a valid {what} id: {shown} (ids are between 1 and {MAX_ID}).", "id.out_of_range",
                       entity=what, value=shown, high=MAX_ID)
    return value


def as_whole(value: Any, field: str, low: int, high: int, default: int | None = None) -> int:
    """A number input as a whole number in low..high (an integral float such as 3.0 counts; 1.5,
    True or text do not), else BadInput `number.not_whole_number` / `number.out_of_range`."""
    if (value is None or value == "") and default is not None:
        return default
    shown = repr(value)[:60]
    number = _whole(value)  # NaN, infinity, 2.5, True, lists and text that is not a number: None
    if number is None:
        raise BadInput(f"{field} must be a whole number, got {shown}.", "number.not_whole_number",
                       field=field, value=shown)
    if not low <= number <= high:
        raise BadInput(f"{field} must be between {low} and {high}, got {shown}.", "number.out_of_range",
                       field=field, value=shown, low=low, high=high)
    return number


def require_id(value: Any, what: str) -> int:
    ident = as_id(value, what)
    if ident is None:
        raise writer_error(current_translator()("choose_" + what.replace(" ", "_")))
    return ident


def _whole(value: Any) -> int | None:
    """`value` as an exact int (3, 3.0, "3"), or None if it is not one (NaN, inf, 2.5, "x", True)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,19}(\.0*)?", value):
            return None
        value = float(value) if "." in value else int(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        return int(value)
    return value if isinstance(value, int) else None


def as_finite(value: Any, what: str) -> float:
    """A slider's value as a finite float; NaN, infinity and non-numbers are refused by name."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{what} must be a finite number, got {repr(value)[:60]}.", "number.not_finite",
                       field=what, value=repr(value)[:60])
    return float(value)


def as_seed(value: Any) -> int | None:
    """Empty or negative seed means 'let the studio pick one'."""
    if value is None or value == "":
        return None
    seed = as_whole(value, "seed", -(2**63), 2**63 - 1)
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


def current_translator() -> Translator:
    """The Translator of the app whose request is being handled (English outside a request)."""
    from gradio.context import LocalContext

    found = getattr(LocalContext.blocks.get(None), TRANSLATOR_ATTRIBUTE, None)
    return found if isinstance(found, Translator) else Translator("en")


TRANSLATOR_ATTRIBUTE = "inkstone_translator"


def writer_error(text: str) -> gr.Error:
    """A gr.Error whose toast title is in the writer's language too (Gradio's default title is "Error")."""
    return gr.Error(toast_text(text), title=current_translator()("error_title"))  # shown as text, never HTML


def writer_warning(text: str) -> None:
    """A warning toast, titled in the writer's language."""
    gr.Warning(toast_text(text), title=current_translator()("warning_title"))


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
