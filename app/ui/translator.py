"""The interface language of each browser session: the `Translator` (labelled components, relabelling on
a switch, `tr(key)` in the session's language), the request's session and translator, and the writer's
error and warning toasts (titled and worded in that language, shown as text).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from app.ui.safe_text import toast_text
from app.ui.strings import enum_label, message_text, t


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


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


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
