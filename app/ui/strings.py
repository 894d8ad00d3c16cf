"""Every string the interface shows, in English and Chinese; `t(language, key, **values)` picks one.

The texts live in the message catalogue (`messages/catalog/<language>/*.json`: `ui.json` for the
interface, the other files for the codes raised below the UI, `enum.json` for enumerated values);
this module is the UI's view of it.

Invariant: each key has both languages (tests/ui/test_string_table.py checks it); `{name}`
placeholders are filled by `t`; a value that is a Message (a code raised below the UI) is rendered in
the same language.
"""

from __future__ import annotations

from typing import Any

from messages import LANGUAGES, Message, catalog, enum_message, render, translate

__all__ = ["LANGUAGES", "STRINGS", "enum_label", "message_text", "t"]

# key -> (English, 中文), the whole catalogue (read-only view)
STRINGS: dict[str, tuple[str, str]] = {key: (english, catalog("zh").get(key, "")) for key, english in catalog("en").items()}


def t(language: str, key: str, /, **values: Any) -> str:
    """The string `key` in `language` ("en" | "zh"; anything else falls back to English)."""
    return translate(language, key, **values)


def message_text(language: str, text: Any, /) -> str:
    """A Message (or an exception raised with one) in `language`; plain text as it is."""
    message = getattr(text, "message", text) if isinstance(text, BaseException) else text
    if isinstance(text, BaseException) and not isinstance(message, Message):
        message = str(text)
    return render(message, language)


def enum_label(language: str, kind: str, value: Any, /) -> str:
    """The writer-facing name of an enumerated value (a status, a source, a finish reason...)."""
    return render(enum_message(kind, str(value or "")), language)
