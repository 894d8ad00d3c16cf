"""Input validation for the Store: field names, types, enumerations, ranges and sizes.

Every check raises `ValidationError` with a message code (`store.*`, see `messages`) naming the
entity, the field and what was expected, before anything is written. Types come from the record dataclasses; string lengths and
integer widths from the ORM columns, so the rules follow the schema.
"""

from __future__ import annotations

import functools
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import BigInteger, String

from messages import Message, enum_message, known, noun_message
from story_store.errors import NotFoundError, ValidationError
from story_store.records import CHAPTER_STATUSES

MAX_TEXT_CHARS = 5_000_000  # a whole novel fits; a 50 MB paste does not
MAX_FIELD_CHARS = 200_000  # any other free-text column: a long character sheet or synopsis fits
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
    ("passages", "status"): frozenset({"streaming", "done", "cancelled", "error", "interrupted"}),
    ("chat_messages", "role"): frozenset({"user", "character", "narrator"}),
    ("chat_messages", "status"): frozenset({"streaming", "done", "cancelled", "error", "interrupted"}),
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
# (table, column) -> the most characters a text column takes (String columns use their length).
TEXT_CAPS: dict[tuple[str, str], int] = {
    ("chapters", "text"): MAX_TEXT_CHARS,
    ("chapter_revisions", "text"): MAX_TEXT_CHARS,
    ("passages", "text"): MAX_TEXT_CHARS,
    ("preferences", "prompt"): MAX_TEXT_CHARS,
}
# Caps of free-text inputs that are not columns (checked by the studio with `check_input`).
INPUT_CAPS: dict[str, int] = {
    "instruction": 2_000,  # a polish / rewrite instruction
    "passage": 20_000,  # a selected passage to polish
    "chat_message": 20_000,  # one role-play turn typed by the writer
    "search": 1_000,  # a search query
    "name": 500,  # a title, a name, a file name
    "text": MAX_FIELD_CHARS,  # any other free text
}
# foreign-key column -> the table it names
_REFERENCED = {"project_id": "projects", "chapter_id": "chapters", "parent_id": "",
               "character_id": "characters", "pov_character_id": "characters",
               "session_id": "chat_sessions", "chosen_passage_id": "passages",
               "rejected_passage_id": "passages"}
NOUNS = {
    "projects": "project", "characters": "character", "lore_entries": "lore entry",
    "chapters": "chapter", "chapter_revisions": "revision", "passages": "passage",
    "chat_sessions": "chat session", "chat_messages": "chat message", "preferences": "preference",
    "field_revisions": "field revision",
}


def check_fields(model: type, record: type, fields: Mapping[str, Any], writable: Iterable[str]) -> dict[str, Any]:
    """Validate `fields` for `model` (an ORM class) against `record`'s types; return a plain dict."""
    table = model.__tablename__  # type: ignore[attr-defined]
    allowed = set(writable)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError("store.unknown_fields", noun=noun(table), unknown=", ".join(map(repr, unknown)),
                              known=", ".join(sorted(allowed)), code="field.unknown", entity=NOUNS[table],
                              fields=unknown)
    hints = _type_hints(record)
    for name, value in fields.items():
        check_value(model, name, hints[name], value)
    return dict(fields)


@functools.cache
def _type_hints(record: type) -> dict[str, Any]:
    return typing.get_type_hints(record)


def check_value(model: type, name: str, annotation: Any, value: Any) -> None:
    table = model.__tablename__  # type: ignore[attr-defined]
    where = field_of(table, name)
    optional, base = _unwrap_optional(annotation)
    if value is None:
        if not optional:
            raise ValidationError("store.not_none", where=where, code="field.missing", field=where)
        return
    column = model.__table__.columns[name]  # type: ignore[attr-defined]
    if base is str:
        length = column.type.length if isinstance(column.type, String) else None
        check_text(where, value, length or TEXT_CAPS.get((table, name), MAX_FIELD_CHARS))
        _check_choice(table, name, where, value)
    elif base is bool:
        if not isinstance(value, bool):
            raise ValidationError("store.not_bool", where=where, got=type(value).__name__,
                                  code="field.not_boolean", field=where, value=_shown(value))
    elif base is int and name.endswith("_id"):
        check_id(NOUNS.get(_REFERENCED.get(name, ""), name[:-3].replace("_", " ")), value)
    elif base is int:
        widest = MAX_INT64 if isinstance(column.type, BigInteger) else MAX_INT32
        low, high = RANGES.get((table, name), (-widest - 1, widest))
        check_int(where, value, low, high)
    elif typing.get_origin(base) is list:
        _check_string_list(where, value)
    elif typing.get_origin(base) is dict:
        check_json_object(where, value)
    else:
        raise ValidationError("store.not_writable", where=where, code="field.read_only", field=where)


def noun(table: str) -> Message | str:
    """The entity a table holds, as the writer calls it ("chapter", "章节")."""
    return noun_message(NOUNS[table])


def not_found(table: str, row_id: Any) -> NotFoundError:
    """NotFoundError `not_found` (values: entity, id) whose message, `store.not_found`, names the row."""
    return NotFoundError(Message("store.not_found", noun=noun(table), id=row_id), code="not_found",
                         entity=NOUNS[table], id=row_id)


def other_project(table: str, row_id: Any) -> ValidationError:
    """A row named by id that belongs to another project than the one being worked on."""
    return ValidationError("store.other_project", noun=noun(table), id=row_id)


def require_non_blank(fields: Mapping[str, Any], names: Iterable[str], table: str) -> None:
    """ValidationError `store.blank` when one of `names` is given as empty or blank text."""
    for name in names:
        if name in fields and isinstance(fields[name], str) and not fields[name].strip():
            raise ValidationError("store.blank", noun=noun(table), field=enum_message("field", name))


def field_of(table: str, name: str) -> Message:
    """"chapter title" / "章节 标题": where a bad value was found."""
    return Message("store.where", noun=noun(table), field=enum_message("field", name))


def _named(where: str | Message) -> str | Message:
    """A caller's plain "chapter text" as its catalogue message (`store.where_text.chapter_text`)."""
    if isinstance(where, Message):
        return where
    key = "store.where_text." + re.sub(r"\W+", "_", where).strip("_")
    return Message(key) if known(key) else where


def check_text(where: str | Message, value: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`value` if it is storable text of at most `max_chars` characters, else ValidationError.

    Codes: text.not_text, text.too_long (length, limit), text.nul, text.surrogate (position of the
    first lone surrogate, which no UTF-8 file, database or tokenizer can hold)."""
    where = _named(where)
    if not isinstance(value, str):
        raise ValidationError("store.not_text", where=where, got=type(value).__name__,
                              code="text.not_text", field=where)
    if len(value) > max_chars:
        raise ValidationError("store.too_long", where=where, length=len(value), limit=max_chars,
                              code="text.too_long", field=where)
    if "\x00" in value:
        raise ValidationError("store.nul_character", where=where,
                              code="text.nul", field=where, position=value.index("\x00"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("store.not_unicode", where=where, detail=exc.reason,
                              code="text.surrogate", field=where, position=exc.start) from exc
    return value


def check_id(noun: str, value: Any) -> int:
    """`value` if it is a row id: a whole number (not a bool, float, text or list) in 1..2^63-1.

    Nothing is coerced: 1.5, True, "2" and [1, 2] are refused (id.not_whole_number), and so are
    0, -1 and 10**20 (id.out_of_range), before any SQL runs."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"a {noun} id must be a whole number, got {_shown(value)}",
                              code="id.not_whole_number", entity=noun_message(noun), value=_shown(value))
    if not 1 <= value <= MAX_INT64:
        raise ValidationError(f"a {noun} id must be between 1 and {MAX_INT64}, got {value}",
                              code="id.out_of_range", entity=noun_message(noun), value=_shown(value),
                              low=1, high=MAX_INT64)
    return value


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_input(kind: str, value: Any) -> str:
    """A free-text input of class `kind` (see INPUT_CAPS): text, capped, no NUL, no lone surrogate."""
    return check_text(kind, value, INPUT_CAPS[kind])


def check_int(where: str | Message, value: Any, low: int = -MAX_INT32 - 1, high: int = MAX_INT32) -> int:
    where = _named(where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("store.not_int", where=where, got=type(value).__name__,
                              code="number.not_whole_number", field=where, value=_shown(value))
    if not low <= value <= high:
        raise ValidationError("store.out_of_range", where=where, low=low, high=high, got=value,
                              code="number.out_of_range", field=where, value=_shown(value))
    return value


def check_choice(table: str, name: str, value: Any) -> str:
    where = field_of(table, name)
    check_text(where, value, 64)
    _check_choice(table, name, where, value)
    return value


def check_json_object(where: str | Message, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("store.not_mapping", where=where, got=type(value).__name__,
                              code="json.not_object", field=where)
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("store.not_json", where=where, detail=str(exc), code="json.invalid",
                              field=where) from exc
    check_text(where, encoded)
    return value


def _check_string_list(where: Message, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("store.not_text_list", where=where, code="field.not_text_list", field=where)
    for item in value:
        check_text(where, item, 10_000)


def _check_choice(table: str, name: str, where: Message, value: str) -> None:
    choices = CHOICES.get((table, name))
    if choices is not None and value not in choices:
        raise ValidationError("store.not_a_choice", where=where, choices=", ".join(sorted(choices)), got=value,
                              code="field.not_a_choice", field=where, value=_shown(value))


def _unwrap_optional(annotation: Any) -> tuple[bool, Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return True, args[0]
    return False, annotation
