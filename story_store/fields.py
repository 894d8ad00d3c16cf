"""Input validation for the Store: field names, types, enumerations, ranges and sizes.

Every check raises `ValidationError` with a message naming the entity, the field and what was
expected, before anything is written. Types come from the record dataclasses; string lengths and
integer widths from the ORM columns, so the rules follow the schema.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import BigInteger, String

from story_store.errors import ValidationError
from story_store.records import CHAPTER_STATUSES

MAX_TEXT_CHARS = 5_000_000  # a whole novel fits; a 50 MB paste does not
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1

# (table, column) -> allowed values
CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("projects", "language"): frozenset({"zh", "en"}),
    ("lore_entries", "selective_logic"): frozenset({"and_any", "and_all", "not_any", "not_all"}),
    ("lore_entries", "position"): frozenset({"before_char", "after_char", "at_depth"}),
    ("chapters", "status"): frozenset(CHAPTER_STATUSES),
    ("chapter_revisions", "source"): frozenset({"user", "ai", "import", "restore"}),
    ("passages", "origin"): frozenset({"ai", "user", "polish", "import"}),
    ("passages", "status"): frozenset({"streaming", "done", "cancelled", "error"}),
    ("chat_messages", "role"): frozenset({"user", "character", "narrator"}),
    ("chat_messages", "status"): frozenset({"streaming", "done", "cancelled", "error"}),
}
# (table, column) -> inclusive integer range
RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("lore_entries", "probability"): (0, 100),
    ("lore_entries", "depth"): (0, 100_000),
    ("lore_entries", "scan_depth"): (0, 100_000),
    ("passages", "branch_index"): (0, 10_000),
    ("passages", "seed"): (0, MAX_INT64),
    ("chat_messages", "seed"): (0, MAX_INT64),
}
NOUNS = {
    "projects": "project", "characters": "character", "lore_entries": "lore entry",
    "chapters": "chapter", "chapter_revisions": "revision", "passages": "passage",
    "chat_sessions": "chat session", "chat_messages": "chat message", "preferences": "preference",
}


def check_fields(model: type, record: type, fields: Mapping[str, Any], writable: Iterable[str]) -> dict[str, Any]:
    """Validate `fields` for `model` (an ORM class) against `record`'s types; return a plain dict."""
    table = model.__tablename__  # type: ignore[attr-defined]
    allowed = set(writable)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown field(s) for a {NOUNS[table]}: {', '.join(map(repr, unknown))}; "
            f"known fields: {', '.join(sorted(allowed))}"
        )
    hints = _type_hints(record)
    for name, value in fields.items():
        check_value(model, name, hints[name], value)
    return dict(fields)


@functools.cache
def _type_hints(record: type) -> dict[str, Any]:
    return typing.get_type_hints(record)


def check_value(model: type, name: str, annotation: Any, value: Any) -> None:
    table = model.__tablename__  # type: ignore[attr-defined]
    where = f"{NOUNS[table]} {name}"
    optional, base = _unwrap_optional(annotation)
    if value is None:
        if not optional:
            raise ValidationError(f"{where} must not be empty (None)")
        return
    column = model.__table__.columns[name]  # type: ignore[attr-defined]
    if base is str:
        length = column.type.length if isinstance(column.type, String) else None
        check_text(where, value, length or MAX_TEXT_CHARS)
        _check_choice(table, name, where, value)
    elif base is bool:
        if not isinstance(value, bool):
            raise ValidationError(f"{where} must be true or false, got {type(value).__name__}")
    elif base is int:
        widest = MAX_INT64 if isinstance(column.type, BigInteger) else MAX_INT32
        low, high = RANGES.get((table, name), (-widest - 1, widest))
        check_int(where, value, low, high)
    elif typing.get_origin(base) is list:
        _check_string_list(where, value)
    elif typing.get_origin(base) is dict:
        check_json_object(where, value)
    else:
        raise ValidationError(f"{where} cannot be written")


def check_text(where: str, value: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise ValidationError(
            f"{where} is too long: {len(value):,} characters (the limit is {max_chars:,})"
        )
    if "\x00" in value:
        raise ValidationError(f"{where} contains a NUL character, which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{where} is not valid Unicode text ({exc.reason})") from exc
    return value


def check_int(where: str, value: Any, low: int = -MAX_INT32 - 1, high: int = MAX_INT32) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{where} must be a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(f"{where} must be between {low} and {high}, got {value}")
    return value


def check_choice(table: str, name: str, value: Any) -> str:
    where = f"{NOUNS[table]} {name}"
    check_text(where, value, 64)
    _check_choice(table, name, where, value)
    return value


def check_json_object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{where} must be a mapping (JSON object), got {type(value).__name__}")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where} must hold only JSON values: {exc}") from exc
    check_text(where, encoded)
    return value


def _check_string_list(where: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f"{where} must be a list of texts")
    for item in value:
        check_text(where, item, 10_000)


def _check_choice(table: str, name: str, where: str, value: str) -> None:
    choices = CHOICES.get((table, name))
    if choices is not None and value not in choices:
        raise ValidationError(f"{where} must be one of {', '.join(sorted(choices))}; got {value!r}")


def _unwrap_optional(annotation: Any) -> tuple[bool, Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return True, args[0]
    return False, annotation
