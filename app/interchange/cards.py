"""Character Card V2/V3 interchange (SillyTavern), as JSON or PNG. Pure: bytes ↔ dicts.

Owns the mapping between a card and our Character columns (+ the embedded `character_book` ↔ lore
entry dicts, via story_store.lorebooks). Invariants:
- size is checked before parsing; any malformed input raises `InterchangeError` naming the file and
  the problem, and nothing is returned (so nothing is imported);
- a PNG card is read from its `ccv3` text chunk (V3) when present, else from `chara` (V2); both hold
  base64 JSON; an export writes both;
- `extensions` are kept verbatim (Character.extensions) except our own `extensions.inkstone`, which
  carries the columns a card has no field for (aliases, appearance, background, speech style,
  pinned); every other card field, the book's own fields and the card's top-level fields go to
  Character.card_data and are written back on export;
- `creator_notes` is kept in card_data only: the memory builder never reads card_data;
- a PNG card's portrait is kept as the PNG itself minus its card text chunks (card_data
  `_card.portrait`, base64) and written back chunk-for-chunk on export, so pixels are equal;
- a card's book is tied to its character by a link id (`bind_book`: card_data `_card.book` and each
  entry's `extensions["character_book"]`); a card exports only its own entries and those the writer
  linked to that character (`extensions["characters"]` holds character ids).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image, PngImagePlugin

from messages import Message

from .lorebooks import (CARD_BOOK, InterchangeError, read_bool, read_dict, read_str, read_strings, check_size, entry_to_lore,
                        load_json, lore_to_entry, shown)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 64_000_000
MAX_PORTRAIT_BYTES = 8 * 1024 * 1024  # the stored portrait (PNG minus card chunks)
CARD_CHUNK_KEYS = (b"chara", b"ccv3")
BOOK_LINK = "character_book"  # lore extensions key: the link id of the card book it came with
LINKED_CHARACTERS = "characters"  # lore extensions key: ids of characters the writer linked it to
V2, V3 = "chara_card_v2", "chara_card_v3"
COLUMN_BY_FIELD = {"name": "name", "description": "description", "personality": "personality",
                   "scenario": "scenario", "first_mes": "greeting", "mes_example": "example_dialogue"}
TEXT_FIELDS = ("creator_notes", "system_prompt", "post_history_instructions", "creator", "character_version",
               "nickname")
LIST_FIELDS = ("alternate_greetings", "tags", "group_only_greetings")
OWN_EXTENSION = "inkstone"
OWN_COLUMNS = {"aliases": [], "appearance": "", "background": "", "speech_style": "", "pinned": False}
CARD_META = "_card"  # card_data key holding spec, spec_version and the card's top-level fields


@dataclass(frozen=True)
class ParsedCard:
    character: dict[str, Any]  # Character column values
    lore_entries: list[dict[str, Any]]  # LoreEntry column values from the character_book
    spec: str  # chara_card_v1 | chara_card_v2 | chara_card_v3


def parse_card(filename: str, data: bytes) -> ParsedCard:
    """A card file (PNG or JSON, V2 or V3; a bare V1 object is accepted too) → column dicts."""
    check_size(filename, data)
    if bytes(data[:8]) != PNG_SIGNATURE:
        return parse_card_object(filename, load_json(filename, data))
    parsed = parse_card_object(filename, _card_from_png(filename, bytes(data)))
    portrait = strip_card_chunks(bytes(data))
    if len(portrait) > MAX_PORTRAIT_BYTES:
        raise InterchangeError("card.portrait_too_large", filename=filename, size_mb=round(len(portrait) / 1e6, 1),
                               limit_mb=MAX_PORTRAIT_BYTES // (1024 * 1024))
    parsed.character["card_data"][CARD_META]["portrait"] = base64.b64encode(portrait).decode("ascii")
    return parsed


def bind_book(parsed: ParsedCard, link: str) -> ParsedCard:
    """The same card with its book entries tied to its character by `link` (a fresh id per import)."""
    character = copy.deepcopy(parsed.character)
    character["card_data"].setdefault(CARD_META, {})["book"] = link
    entries = [dict(e, extensions={**e.get("extensions", {}), BOOK_LINK: link}) for e in parsed.lore_entries]
    return ParsedCard(character, entries, parsed.spec)


def character_lore(character: Any, lore_entries: list[Any]) -> list[Any]:
    """The entries a card of `character` carries: its own book's, plus those linked to it by the writer."""
    get = (lambda k: character[k]) if isinstance(character, dict) else (lambda k: getattr(character, k))
    link = ((get("card_data") or {}).get(CARD_META) or {}).get("book")
    character_id = get("id") if (not isinstance(character, dict) or "id" in character) else None
    chosen = []
    for entry in lore_entries:
        extensions = (entry.get("extensions") if isinstance(entry, dict) else entry.extensions) or {}
        linked = extensions.get(LINKED_CHARACTERS) or []
        if (link and extensions.get(BOOK_LINK) == link) or (character_id is not None and character_id in linked):
            chosen.append(entry)
    return chosen


def _card_from_png(filename: str, data: bytes) -> Any:
    chunks = _png_text_chunks(filename, data)
    for key in ("ccv3", "chara"):
        if key in chunks:
            break
    else:
        raise InterchangeError("card.no_card_chunk", filename=filename)
    try:
        raw = base64.b64decode(chunks[key].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InterchangeError("card.bad_base64", filename=filename, chunk=key) from None
    return load_json(Message("card.where_chunk", filename=filename, chunk=key), raw)


def _png_text_chunks(filename: str, data: bytes) -> dict[str, str]:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InterchangeError("card.image_too_large", filename=filename, width=width, height=height)
            image.load()  # text chunks after the image data are read only now
            text = getattr(image, "text", {})  # PngImageFile.text: tEXt/zTXt/iTXt chunks
            return {k: v for k, v in text.items() if isinstance(v, str)}
    except InterchangeError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError,
            MemoryError):  # the exception text may hold object reprs (<_io.BytesIO …>): never shown
        raise InterchangeError("card.png_unreadable", filename=filename) from None


# ---- PNG chunks (a chunk: 4-byte length, 4-byte type, data, 4-byte CRC over type + data) -----------

def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG already opened by Pillow (so its structure is sound)."""
    out, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        out.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
        if kind == b"IEND":
            break
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _is_card_chunk(kind: bytes, body: bytes) -> bool:
    return kind in (b"tEXt", b"zTXt", b"iTXt") and body.split(b"\0", 1)[0] in CARD_CHUNK_KEYS


def strip_card_chunks(png: bytes) -> bytes:
    """The PNG without its card text chunks: the portrait alone, every other chunk byte-identical."""
    kept = [_chunk(kind, body) for kind, body in _chunks(png) if not _is_card_chunk(kind, body)]
    return PNG_SIGNATURE + b"".join(kept)


def _with_text_chunks(png: bytes, texts: list[tuple[str, str]]) -> bytes:
    """`png` (no card chunks) with tEXt chunks (keyword, latin-1 text) inserted before IEND."""
    body = [_chunk(kind, data) for kind, data in _chunks(png) if kind != b"IEND"]
    extra = [_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1")) for key, text in texts]
    return PNG_SIGNATURE + b"".join(body + extra) + _chunk(b"IEND", b"")


def parse_card_object(filename: str, card: Any) -> ParsedCard:
    """An already-decoded card object → column dicts (see parse_card)."""
    if not isinstance(card, dict):
        raise InterchangeError("card.not_object", filename=filename)
    spec = card.get("spec")
    if spec in (V2, V3):
        data = card.get("data")
        if not isinstance(data, dict):
            raise InterchangeError("card.no_data", filename=filename, spec=spec)
        top = {k: copy.deepcopy(v) for k, v in card.items() if k not in ("spec", "spec_version", "data")}
    elif spec is None and "name" in card:
        spec, data, top = "chara_card_v1", card, {}
    else:
        raise InterchangeError("card.unknown_spec", filename=filename, spec=shown(spec), expected=f"{V2!r}, {V3!r}")
    where = Message("card.where_card", filename=filename)
    character = _columns(data, where)
    lore = _book_entries(data, filename)
    card_data = _card_data(data, where)
    card_data[CARD_META] = {"spec": spec, "spec_version": card.get("spec_version"), "top_level": top}
    character["card_data"] = card_data
    return ParsedCard(character, lore, spec)


def _columns(data: dict, where: str) -> dict[str, Any]:
    name = read_str(data, "name", where, default=None).strip()
    if not name:
        raise InterchangeError("card.empty_name", where=where)
    columns: dict[str, Any] = {column: read_str(data, field, where) for field, column in COLUMN_BY_FIELD.items()}
    columns["name"] = name
    extensions = copy.deepcopy(read_dict(data, "extensions", where))
    own = extensions.pop(OWN_EXTENSION, None) or {}
    if not isinstance(own, dict):
        raise InterchangeError("interchange.not_object", where=where, key=f"extensions.{OWN_EXTENSION}")
    columns.update(
        aliases=read_strings(own, "aliases", where), appearance=read_str(own, "appearance", where),
        background=read_str(own, "background", where), speech_style=read_str(own, "speech_style", where),
        pinned=read_bool(own, "pinned", where, False), extensions=extensions)
    return columns


def _book_entries(data: dict, filename: str) -> list[dict[str, Any]]:
    book = data.get("character_book")
    if book is None:
        return []
    if not isinstance(book, dict) or not isinstance(book.get("entries", []), list):
        raise InterchangeError("card.bad_book", where=Message("card.where_card", filename=filename))
    return [entry_to_lore(CARD_BOOK, e, Message("card.where_book_entry", filename=filename, number=i + 1))
            for i, e in enumerate(book.get("entries", []))]


def _card_data(data: dict, where: str) -> dict[str, Any]:
    for field in TEXT_FIELDS:
        read_str(data, field, where)
    for field in LIST_FIELDS:
        read_strings(data, field, where)
    skip = {*COLUMN_BY_FIELD, "extensions", "character_book"}
    card_data = {k: copy.deepcopy(v) for k, v in data.items() if k not in skip}
    if isinstance(data.get("character_book"), dict):
        card_data["character_book"] = {k: copy.deepcopy(v) for k, v in data["character_book"].items()
                                       if k != "entries"}
    return card_data


# ---- export -----------------------------------------------------------------------------------

def card_object(character: Any, lore_entries: list[Any], spec: str | None = None) -> dict[str, Any]:
    """Character (record or column dict) + its lore → a card object (default: the card's own spec, else V3)."""
    get = (lambda k: character[k]) if isinstance(character, dict) else (lambda k: getattr(character, k))
    card_data = copy.deepcopy(get("card_data") or {})
    meta = card_data.pop(CARD_META, {}) or {}
    book_meta = card_data.pop("character_book", None)
    spec = spec or (meta.get("spec") if meta.get("spec") in (V2, V3) else V3)
    data = {**card_data, **{field: get(column) for field, column in COLUMN_BY_FIELD.items()}}
    for field in ("creator_notes", "system_prompt", "post_history_instructions", "creator", "character_version"):
        data.setdefault(field, "")
    data.setdefault("alternate_greetings", [])
    data.setdefault("tags", [])
    data["extensions"] = _extensions(get)
    if lore_entries or book_meta is not None:
        book = dict(book_meta or {"extensions": {}})
        book["entries"] = [lore_to_entry(CARD_BOOK, lore) for lore in lore_entries]
        data["character_book"] = book
    top = copy.deepcopy(meta.get("top_level") or {})
    for field in COLUMN_BY_FIELD:  # V1 mirror fields some tools keep at the top level
        if field in top:
            top[field] = data[field]
    version = meta.get("spec_version") if meta.get("spec") == spec and meta.get("spec_version") else (
        "3.0" if spec == V3 else "2.0")
    return {**top, "spec": spec, "spec_version": version, "data": data}


def _extensions(get) -> dict[str, Any]:
    extensions = copy.deepcopy(get("extensions") or {})
    own = {column: copy.deepcopy(get(column)) for column, default in OWN_COLUMNS.items() if get(column) != default}
    if own:
        extensions[OWN_EXTENSION] = own
    return extensions


def card_json(character: Any, lore_entries: list[Any], spec: str | None = None) -> bytes:
    return json.dumps(card_object(character, lore_entries, spec), ensure_ascii=False, indent=2).encode("utf-8")


def card_png(character: Any, lore_entries: list[Any], image: bytes | None = None) -> bytes:
    """A PNG card with both a `chara` (V2) and a `ccv3` (V3) chunk. The picture: `image` (PNG/JPEG
    bytes) when given, else the portrait the card came with, else a plain tile coloured by name."""
    texts = []
    for chunk, spec in (("chara", V2), ("ccv3", V3)):
        payload = json.dumps(card_object(character, lore_entries, spec), ensure_ascii=False).encode("utf-8")
        texts.append((chunk, base64.b64encode(payload).decode("ascii")))
    portrait = stored_portrait(character)
    if image is None and portrait is not None:
        return _with_text_chunks(portrait, texts)
    info = PngImagePlugin.PngInfo()
    for chunk, text in texts:
        info.add_text(chunk, text)
    avatar = _avatar(character, image)
    out = io.BytesIO()
    avatar.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def stored_portrait(character: Any) -> bytes | None:
    """The PNG portrait an imported card came with (kept in card_data), or None."""
    card_data = (character["card_data"] if isinstance(character, dict) else character.card_data) or {}
    encoded = (card_data.get(CARD_META) or {}).get("portrait")
    if not isinstance(encoded, str):
        return None
    try:
        portrait = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return portrait if portrait[:8] == PNG_SIGNATURE else None


def _avatar(character: Any, image: bytes | None) -> Image.Image:
    if image is not None:
        try:
            with Image.open(io.BytesIO(image)) as opened:
                return opened.convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError):
            raise InterchangeError("card.avatar_unreadable") from None
    name = character["name"] if isinstance(character, dict) else character.name
    shade = hashlib.sha256(name.encode("utf-8")).digest()[:3]  # a stable colour per name
    return Image.new("RGB", (256, 384), tuple(shade))
