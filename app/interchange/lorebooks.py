"""Lorebook interchange: SillyTavern World Info JSON (import/export), NovelAI `.lorebook` (import), and
the Character Card `character_book` entries (used by story_store.cards). Pure: bytes ↔ dicts.

Owns the mapping between those formats and our LoreEntry columns. Invariants:
- input is checked before anything is returned: size first (MAX_FILE_BYTES), then UTF-8, nesting
  depth (MAX_JSON_DEPTH, scanned without recursion before `json.loads`, so no copy or walk of the
  object can hit Python's recursion limit), JSON, shape and types; any problem raises `InterchangeError` naming the file and what is wrong, so a
  caller imports all entries or none;
- every imported entry keeps its original object verbatim in `extensions["source"]`
  (`{"format": ..., "entry": {...}}`); on export in the same format we start from that object and
  rewrite only the fields whose column value changed, so unknown fields and extensions survive a
  round trip byte-for-byte in meaning;
- keys are read as SillyTavern reads them: plain text unless written `/pattern/flags`, whatever the
  entry's `use_regex` says (ST writes `use_regex: true` on every entry it exports).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from messages import CodedError, Message

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_JSON_DEPTH = 64  # real cards nest < 10 deep; deeper input is refused before parsing
CARD_BOOK, WORLD_INFO, NOVELAI = "card_book", "st_world_info", "novelai"
LOGIC_BY_NUMBER = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
NUMBER_BY_LOGIC = {v: k for k, v in LOGIC_BY_NUMBER.items()}
POSITION_BY_NUMBER = {0: "before_char", 1: "after_char", 4: "at_depth"}  # ST's other slots → after_char
NUMBER_BY_POSITION = {v: k for k, v in POSITION_BY_NUMBER.items()}


class InterchangeError(CodedError, ValueError):
    """A card or lorebook file cannot be imported: a catalogue code (`interchange.*`, `card.*`) whose
    values name the file (or the place in it, `where`) and the problem; `str()` is the English text."""

    def __init__(self, code: str, /, **values: Any) -> None:
        super().__init__(code, **values)


def where_entry(filename: str, number: int) -> Message:
    """The place "entry `number` (1-based) of `filename`", rendered in the writer's language."""
    return Message("interchange.where_entry", filename=filename, number=number)


def shown(value: Any) -> str:
    """A foreign value as it is quoted in a refusal: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def json_kind(value: Any) -> Message:
    """What kind of JSON value `value` is (text, number, list, ...), in the writer's language."""
    kinds = ((bool, "boolean"), (str, "text"), ((int, float), "number"), (list, "list"), (dict, "object"))
    kind = next((name for types, name in kinds if isinstance(value, types)), "null")
    return Message(f"interchange.kind_{kind}")


def check_size(filename: str, data: bytes) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise InterchangeError("interchange.not_bytes", filename=filename, got=type(data).__name__)
    if len(data) > MAX_FILE_BYTES:
        raise InterchangeError("interchange.too_large", filename=filename, size_mb=round(len(data) / 1e6, 1),
                               limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if not data:
        raise InterchangeError("interchange.empty", filename=filename)


def load_json(filename: str, data: bytes) -> Any:
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InterchangeError("interchange.not_utf8", filename=filename, byte=exc.start) from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InterchangeError("interchange.json_too_deep", filename=filename, depth=depth, limit=MAX_JSON_DEPTH)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InterchangeError("interchange.bad_json", filename=filename, detail=exc.msg, line=exc.lineno,
                               column=exc.colno) from None
    except RecursionError:
        raise InterchangeError("interchange.json_too_complex", filename=filename) from None


def json_depth(text: str) -> int:
    """The deepest nesting of objects/arrays in JSON text: one scan of its strings and brackets
    (strings are skipped whole by the C regex engine); stops once past MAX_JSON_DEPTH."""
    depth = deepest = 0
    for token in _JSON_STRUCTURE.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return deepest


_JSON_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


# ---- typed readers: each raises InterchangeError(code, where=..., key=...) ------------------------

def read_str(obj: Mapping, key: str, where: str, default: str | None = "") -> str:
    value = obj.get(key, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise InterchangeError("interchange.not_text", where=where, key=key, got=json_kind(value))
    return value


def read_bool(obj: Mapping, key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InterchangeError("interchange.not_boolean", where=where, key=key, got=shown(value))
    return value


def read_int(obj: Mapping, key: str, where: str, default: int | None) -> int | None:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e9:
        raise InterchangeError("interchange.not_number", where=where, key=key, got=shown(value))
    return int(value)


def read_strings(obj: Mapping, key: str, where: str, required: bool = False) -> list[str]:
    if key not in obj and not required:
        return []
    value = obj.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InterchangeError("interchange.not_key_list", where=where, key=key)
    return list(value)


def read_dict(obj: Mapping, key: str, where: str) -> dict:
    value = obj.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InterchangeError("interchange.not_object", where=where, key=key)
    return value


def _percent(value: int | None, where: str) -> int:
    if value is None:
        return 100
    if not 0 <= value <= 100:
        raise InterchangeError("interchange.bad_probability", where=where, value=value)
    return value


# ---- per-format column readers and writers -------------------------------------------------------

@dataclass(frozen=True)
class Format:
    name: str
    read: Callable[[Mapping, str], dict[str, Any]]  # entry, where → columns
    write: Callable[[dict, str, Any], None]  # out entry, column, value (in place)


def _read_card_entry(entry: Mapping, where: str) -> dict[str, Any]:
    ext = read_dict(entry, "extensions", where)
    selective = read_bool(entry, "selective", where, True)
    keys = read_strings(entry, "keys", where, required=True)  # `use_regex` is ignored, as ST does
    read_bool(entry, "use_regex", where, False)
    position = read_int(ext, "position", where, None)
    return {
        "title": read_str(entry, "comment", where) or read_str(entry, "name", where),
        "content": read_str(entry, "content", where, default=None),
        "keys": keys,
        "secondary_keys": read_strings(entry, "secondary_keys", where) if selective else [],
        "selective_logic": LOGIC_BY_NUMBER.get(read_int(ext, "selectiveLogic", where, 0) or 0, "and_any"),
        "constant": read_bool(entry, "constant", where, False),
        "enabled": read_bool(entry, "enabled", where, True),
        "case_sensitive": read_bool(entry, "case_sensitive", where, False) or read_bool(ext, "case_sensitive", where, False),
        "match_whole_words": read_bool(ext, "match_whole_words", where, False),
        "insertion_order": read_int(entry, "insertion_order", where, 100),
        "position": POSITION_BY_NUMBER.get(position, "after_char") if position is not None
        else ("after_char" if read_str(entry, "position", where) == "after_char" else "before_char"),
        "depth": read_int(ext, "depth", where, 4),
        "probability": _percent(read_int(ext, "probability", where, 100), where)
        if read_bool(ext, "useProbability", where, True) else 100,
        "scan_depth": read_int(ext, "scan_depth", where, None),
        "ignore_budget": read_bool(ext, "ignore_budget", where, False),
        "exclude_recursion": read_bool(ext, "exclude_recursion", where, False),
        "prevent_recursion": read_bool(ext, "prevent_recursion", where, False),
    }


def _write_card_entry(out: dict, column: str, value: Any) -> None:
    ext = out.setdefault("extensions", {})
    if column == "title":
        out["comment"] = value
    elif column in ("content", "keys", "constant", "enabled", "insertion_order"):
        out[column] = value
    elif column == "secondary_keys":
        out["secondary_keys"], out["selective"] = value, bool(value) or out.get("selective", False)
    elif column == "selective_logic":
        ext["selectiveLogic"] = NUMBER_BY_LOGIC.get(value, 0)
    elif column == "case_sensitive":
        out["case_sensitive"] = ext["case_sensitive"] = value
    elif column == "position":
        ext["position"] = NUMBER_BY_POSITION[value]
        out["position"] = "after_char" if value == "after_char" else "before_char"
    elif column == "probability":
        ext["probability"], ext["useProbability"] = value, value < 100 or ext.get("useProbability", False)
    else:  # match_whole_words, depth, scan_depth, ignore_budget, exclude/prevent_recursion
        ext[column] = value


WORLD_INFO_FIELDS = {"content": "content", "constant": "constant", "insertion_order": "order",
                     "depth": "depth", "scan_depth": "scanDepth", "ignore_budget": "ignoreBudget",
                     "exclude_recursion": "excludeRecursion", "prevent_recursion": "preventRecursion",
                     "case_sensitive": "caseSensitive", "match_whole_words": "matchWholeWords"}


def _read_world_info_entry(entry: Mapping, where: str) -> dict[str, Any]:
    selective = read_bool(entry, "selective", where, True)
    position = read_int(entry, "position", where, 0)
    return {
        "title": read_str(entry, "comment", where),
        "content": read_str(entry, "content", where, default=None),
        "keys": read_strings(entry, "key", where, required=True),
        "secondary_keys": read_strings(entry, "keysecondary", where) if selective else [],
        "selective_logic": LOGIC_BY_NUMBER.get(read_int(entry, "selectiveLogic", where, 0) or 0, "and_any"),
        "constant": read_bool(entry, "constant", where, False),
        "enabled": not read_bool(entry, "disable", where, False),
        "case_sensitive": read_bool(entry, "caseSensitive", where, False),
        "match_whole_words": read_bool(entry, "matchWholeWords", where, False),
        "insertion_order": read_int(entry, "order", where, 100),
        "position": POSITION_BY_NUMBER.get(position or 0, "after_char"),
        "depth": read_int(entry, "depth", where, 4),
        "probability": _percent(read_int(entry, "probability", where, 100), where)
        if read_bool(entry, "useProbability", where, True) else 100,
        "scan_depth": read_int(entry, "scanDepth", where, None),
        "ignore_budget": read_bool(entry, "ignoreBudget", where, False),
        "exclude_recursion": read_bool(entry, "excludeRecursion", where, False),
        "prevent_recursion": read_bool(entry, "preventRecursion", where, False),
    }


def _write_world_info_entry(out: dict, column: str, value: Any) -> None:
    if column in WORLD_INFO_FIELDS:
        out[WORLD_INFO_FIELDS[column]] = value
    elif column == "title":
        out["comment"] = value
    elif column == "keys":
        out["key"] = value
    elif column == "secondary_keys":
        out["keysecondary"], out["selective"] = value, bool(value) or out.get("selective", False)
    elif column == "selective_logic":
        out["selectiveLogic"] = NUMBER_BY_LOGIC.get(value, 0)
    elif column == "enabled":
        out["disable"] = not value
    elif column == "position":
        out["position"] = NUMBER_BY_POSITION[value]
    elif column == "probability":
        out["probability"], out["useProbability"] = value, value < 100 or out.get("useProbability", False)


def _read_novelai_entry(entry: Mapping, where: str) -> dict[str, Any]:
    return {
        "title": read_str(entry, "displayName", where),
        "content": read_str(entry, "text", where, default=None),
        "keys": read_strings(entry, "keys", where, required=True),
        "enabled": read_bool(entry, "enabled", where, True),
        "constant": read_bool(entry, "forceActivation", where, False),
    }


FORMATS = {
    CARD_BOOK: Format(CARD_BOOK, _read_card_entry, _write_card_entry),
    WORLD_INFO: Format(WORLD_INFO, _read_world_info_entry, _write_world_info_entry),
    NOVELAI: Format(NOVELAI, _read_novelai_entry, lambda out, column, value: None),
}
COLUMN_DEFAULTS = _read_card_entry({"keys": [], "content": ""}, "defaults")


def entry_to_lore(fmt: str, entry: Any, where: str) -> dict[str, Any]:
    """One foreign entry → LoreEntry column values (+ the original kept in extensions["source"])."""
    if not isinstance(entry, dict):
        raise InterchangeError("interchange.entry_not_object", where=where)
    columns = dict(COLUMN_DEFAULTS, **FORMATS[fmt].read(entry, where))
    columns["extensions"] = {"source": {"format": fmt, "entry": copy.deepcopy(entry)}}
    return columns


def lore_to_entry(fmt: str, lore: Any) -> dict[str, Any]:
    """A LoreEntry (record or dict) → one entry of `fmt`, rewriting only the columns that changed."""
    values = {c: getattr(lore, c) if not isinstance(lore, Mapping) else lore[c] for c in COLUMN_DEFAULTS}
    extensions = lore.extensions if not isinstance(lore, Mapping) else lore.get("extensions", {})
    source = (extensions or {}).get("source") or {}
    if source.get("format") == fmt and isinstance(source.get("entry"), dict):
        out = copy.deepcopy(source["entry"])
        derived = dict(COLUMN_DEFAULTS, **FORMATS[fmt].read(out, "stored entry"))
    else:
        out, derived = {}, None
    for column, value in values.items():
        if derived is None or derived[column] != value:
            FORMATS[fmt].write(out, column, copy.deepcopy(value))
    return out


# ---- whole files --------------------------------------------------------------------------------

def parse_lorebook(filename: str, data: bytes) -> list[dict[str, Any]]:
    """A SillyTavern World Info JSON or NovelAI `.lorebook` file → LoreEntry column dicts."""
    check_size(filename, data)
    book = load_json(filename, data)
    if not isinstance(book, dict):
        raise InterchangeError("interchange.top_not_object", filename=filename)
    if "lorebookVersion" in book:
        entries, fmt = book.get("entries"), NOVELAI
        if not isinstance(entries, list):
            raise InterchangeError("interchange.novelai_entries", filename=filename)
    elif "entries" in book:
        entries, fmt = book["entries"], WORLD_INFO
        if isinstance(entries, dict):
            entries = list(entries.values())
        elif not isinstance(entries, list):
            raise InterchangeError("interchange.world_info_entries", filename=filename)
    else:
        raise InterchangeError("interchange.no_entries", filename=filename)
    return [entry_to_lore(fmt, entry, where_entry(filename, i + 1)) for i, entry in enumerate(entries)]


def world_info_json(lore_entries: list[Any], name: str = "") -> bytes:
    """SillyTavern World Info JSON for these entries (uid = position in the list)."""
    entries = {}
    for uid, lore in enumerate(lore_entries):
        entry = lore_to_entry(WORLD_INFO, lore)
        entry["uid"] = uid
        entries[str(uid)] = entry
    book: dict[str, Any] = {"entries": entries}
    if name:
        book["name"] = name
    return json.dumps(book, ensure_ascii=False, indent=2).encode("utf-8")
