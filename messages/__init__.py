"""Messages as data: a code plus values, rendered in the writer's language at the edge.

Owns the message catalogue (`messages/catalog/<language>/*.json`, one flat mapping of key → text per
file, merged per language) and the two ways code below the UI speaks to the writer:

- `Message(code, **values)`: a str whose value is the English rendering (logs, tests, `in` checks keep
  working) and which carries `code` and `values`, so the UI can render it again in 中文;
- `CodedError`: a mixin for exceptions raised with a code (`StoreError("store.unknown_fields", ...)`);
  `str(exc)` is English, `exc.message` the Message.

Invariants:
- this package imports nothing from the project (every layer may import it);
- every key exists in every language with the same placeholders (tests/messages checks it);
- a value that is itself a Message is rendered in the same language (nested reasons);
- free text that is not a code (e.g. a message from a library) passes through unchanged;
- `enum_message(kind, value)` names an enumerated value shown to the writer (a status, a source, a
  finish reason...): key `enum.<kind>.<value>`; an unknown value is shown as itself.
"""

from __future__ import annotations

import json
import re
import string
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")  # "store.field_unknown"; never a sentence


class CatalogError(ValueError):
    """A catalogue file is malformed or two files define the same key."""


@cache
def catalog(language: str) -> dict[str, str]:
    """Every key → text of `language` (all files of its folder merged)."""
    merged: dict[str, str] = {}
    folder = CATALOG_DIR / language
    for path in sorted(folder.glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise CatalogError(f"{path} must be one JSON object of key → text")
        clash = sorted(set(entries) & set(merged))
        if clash:
            raise CatalogError(f"{path} repeats keys defined in another file: {', '.join(clash)}")
        merged.update(entries)
    return merged


def known(key: str) -> bool:
    return key in catalog(DEFAULT_LANGUAGE)


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a catalogue text."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def render(text: Any, language: str, /) -> str:
    """`text` for the writer in `language`: a Message is rendered from the catalogue, anything else is
    shown as it is (names, titles, free text)."""
    if isinstance(text, Message):
        return text.render(language)
    return "" if text is None else str(text)


def translate(language: str, key: str, /, **values: Any) -> str:
    """The catalogue text `key` in `language` (English when the language or the key is missing there),
    with `values` filled in; Message values are rendered in the same language."""
    texts = catalog(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    template = texts.get(key)
    if template is None:
        template = catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:  # an unknown code: say it plainly rather than fail while reporting an error
        shown = ", ".join(f"{k}={render(v, language)}" for k, v in values.items())
        return f"{key}({shown})" if shown else key
    if not values:
        return template
    return template.format(**{k: render(v, language) if isinstance(v, Message) else v for k, v in values.items()})


class Message(str):
    """A message code plus values; as a str it is the English rendering."""

    code: str
    values: dict[str, Any]

    def __new__(cls, code: str, /, **values: Any) -> Message:
        self = super().__new__(cls, translate(DEFAULT_LANGUAGE, code, **values))
        self.code = code
        self.values = values
        return self

    def render(self, language: str, /) -> str:
        return translate(language, self.code, **self.values)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles/copies as a Message again
        return (_rebuild, (self.code, self.values))

    def __repr__(self) -> str:
        return f"Message({self.code!r}, {self.values!r})"


def _rebuild(code: str, values: dict[str, Any]) -> Message:
    return Message(code, **values)


def as_message(text: str | Message, /, **values: Any) -> Message | str:
    """A Message when `text` is a code (or already a Message), else the free text itself."""
    if isinstance(text, Message):
        return text
    if CODE.match(text):
        return Message(text, **values)
    return text


def noun_message(noun: str, /) -> Message | str:
    """The writer-facing name of a kind of record ("chapter", "lore entry"): the catalogue's
    `store.noun.<noun>`, or the noun itself where there is none."""
    key = f"store.noun.{noun.replace(' ', '_')}"
    return Message(key) if noun and known(key) else noun


def enum_message(kind: str, value: str, /) -> Message | str:
    """The writer-facing name of an enumerated value (`enum.<kind>.<value>`), or the value itself."""
    key = f"enum.{kind}.{value}"
    return Message(key) if value and known(key) else value


class CodedError(Exception):
    """Mixin for exceptions raised with a code: `Error("polish.cut_short", reason=...)`.

    `str(exc)` is the English rendering; `exc.message` is the Message (or the free text, for errors
    raised with a plain sentence), which the UI renders in the writer's language.

    A second spelling is accepted for errors that name their refusal by a keyword code next to an
    English sentence (`ValidationError("a chapter id must be ...", code="id.out_of_range", value=...)`):
    then `exc.code`/`exc.values` are that code and its values, and `exc.message` is the catalogue's
    `err_<code>` text when it can be filled from the values, else the sentence. Every instance has
    `code` (possibly the class's `default_code`) and `values`.
    """

    message: Message | str
    code: str
    values: dict[str, Any]
    default_code = ""

    def __init__(self, text: str | Message = "", /, *args: Any, code: str | None = None, **values: Any) -> None:
        self.values = dict(values)
        if code is not None and isinstance(text, str) and not isinstance(text, Message) and not CODE.match(text):
            self.code = code
            self.message = _keyword_coded(code, values) or text or code
            super().__init__(text or str(self.message), *args)
            return
        self.message = as_message(text, **values) if text else text
        self.code = code or getattr(self.message, "code", "") or self.default_code
        super().__init__(str(self.message), *args)

    def render(self, language: str) -> str:
        return render(self.message, language)


def _keyword_coded(code: str, values: dict[str, Any]) -> Message | None:
    """`Message("err_" + code, **values)` when the catalogue has it and every language can be filled."""
    key = f"err_{code}"
    if not known(key):
        return None
    try:
        for language in LANGUAGES:
            translate(language, key, **values)
        return Message(key, **values)
    except (KeyError, IndexError, ValueError):
        return None


__all__ = [
    "CODE", "CatalogError", "CodedError", "DEFAULT_LANGUAGE", "LANGUAGES", "Message", "as_message",
    "catalog", "enum_message", "known", "placeholders", "render", "translate",
]
