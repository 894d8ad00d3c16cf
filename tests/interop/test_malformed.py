"""Malformed cards and lorebooks: a clear InterchangeError naming the file, nothing else ever raised."""

from __future__ import annotations

import copy
import json
import os

import pytest
from card_samples import NOVELAI_BOOK, V2_CARD, WORLD_INFO, png_with_chunks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.interchange.cards import card_png, parse_card
from app.interchange.lorebooks import MAX_FILE_BYTES, InterchangeError, parse_lorebook


def with_data(**changes) -> bytes:
    card = copy.deepcopy(V2_CARD)
    for key, value in changes.items():
        if value is ...:
            card["data"].pop(key)
        else:
            card["data"][key] = value
    return json.dumps(card).encode()


def book_entry(**changes) -> bytes:
    card = copy.deepcopy(V2_CARD)
    card["data"]["character_book"]["entries"][0].update(changes)
    return json.dumps(card).encode()


GOOD_PNG = card_png(dict(name="A", description="", personality="", scenario="", greeting="", example_dialogue="",
                         aliases=[], appearance="", background="", speech_style="", pinned=False, extensions={},
                         card_data={}), [])
CARD_CASES = [
    ("empty file", b"", "empty"),
    ("invalid UTF-8", b"{\"spec\": \"\xff\xfe\"}", "UTF-8"),
    ("bad JSON", b"{\"spec\": ", "JSON"),
    ("not an object", b"[1, 2]", "object"),
    ("unknown spec", json.dumps({"spec": "chara_card_v9", "data": {}}).encode(), "spec"),
    ("missing data", json.dumps({"spec": "chara_card_v2"}).encode(), "'data'"),
    ("missing name", with_data(name=...), "'name'"),
    ("empty name", with_data(name="  "), "empty"),
    ("name is a number", with_data(name=5), "'name'"),
    ("tags not a list", with_data(tags="goddess"), "'tags'"),
    ("extensions not an object", with_data(extensions=[1]), "'extensions'"),
    ("book without entries list", with_data(character_book={"entries": 3}), "character_book"),
    ("book entry keys not a list", book_entry(keys="Axis"), "'keys'"),
    ("book entry content missing", book_entry(content=None), "'content'"),
    ("book entry probability out of range", book_entry(extensions={"probability": 250}), "probability"),
    ("book entry enabled not a bool", book_entry(enabled="yes"), "'enabled'"),
    ("PNG without card chunk", png_with_chunks({"Comment": "hi"}), "no character card"),
    ("PNG chunk bad base64", png_with_chunks({"chara": "@@not base64@@"}), "base64"),
    ("PNG chunk bad JSON", png_with_chunks({"ccv3": "bm90IGpzb24="}), "JSON"),
    ("truncated PNG", GOOD_PNG[: len(GOOD_PNG) // 2], "PNG"),
    ("PNG signature only", GOOD_PNG[:8], "PNG"),
]


@pytest.mark.parametrize("label,data,message", CARD_CASES, ids=[c[0] for c in CARD_CASES])
def test_malformed_cards_get_a_clear_error(label, data, message):
    with pytest.raises(InterchangeError) as error:
        parse_card("broken-card.png", data)
    assert "broken-card.png" in str(error.value) and message in str(error.value)


def test_a_50_mb_file_is_refused_before_parsing():
    huge = b"{" + b" " * (50 * 1024 * 1024) + b"}"
    for parse in (parse_card, parse_lorebook):
        with pytest.raises(InterchangeError, match="limit is 20 MB"):
            parse("huge.json", huge)
    assert len(huge) > MAX_FILE_BYTES


LOREBOOK_CASES = [
    ("no entries", json.dumps({"name": "x"}).encode(), "no 'entries'"),
    ("entries a string", json.dumps({"entries": "x"}).encode(), "'entries'"),
    ("entry not an object", json.dumps({"entries": {"0": 3}}).encode(), "entry 1"),
    ("key not a list", json.dumps({"entries": {"0": {"key": "a", "content": ""}}}).encode(), "'key'"),
    ("order not a number", json.dumps({"entries": [{"key": [], "content": "", "order": "high"}]}).encode(), "'order'"),
    ("novelai entries not a list", json.dumps({"lorebookVersion": 5, "entries": {}}).encode(), "list"),
    ("novelai text missing", json.dumps({"lorebookVersion": 5, "entries": [{"keys": []}]}).encode(), "'text'"),
    ("top level list", b"[]", "object"),
]


@pytest.mark.parametrize("label,data,message", LOREBOOK_CASES, ids=[c[0] for c in LOREBOOK_CASES])
def test_malformed_lorebooks_get_a_clear_error(label, data, message):
    with pytest.raises(InterchangeError) as error:
        parse_lorebook("broken.lorebook", data)
    assert "broken.lorebook" in str(error.value) and message in str(error.value)


def _parse_or_clear_error(parse, data: bytes) -> None:
    try:
        parse("fuzz.bin", data)
    except InterchangeError as exc:
        assert "fuzz.bin" in str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
CARD_KEYS = ["spec", "data", "name", "keys", "content", "extensions", "character_book", "entries", "probability",
             "selective", "secondary_keys", "position", "tags", "lorebookVersion", "key", "order", "text"]


def mutate(template: dict, draw_path, value):
    """Replace one nested value of a copy of `template` with `value`."""
    out = copy.deepcopy(template)
    node = out
    for step in draw_path[:-1]:
        child = node.get(step)
        if not isinstance(child, dict):
            break
        node = child
    node[draw_path[-1]] = value
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_fuzzed_bytes_raise_only_our_error(data):
    _parse_or_clear_error(parse_card, data)
    _parse_or_clear_error(parse_lorebook, data)
    _parse_or_clear_error(parse_card, GOOD_PNG[:40] + data)


@settings(max_examples=int(os.environ.get("INKSTONE_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(path=st.lists(st.sampled_from(CARD_KEYS), min_size=1, max_size=4), value=json_values,
       which=st.sampled_from(["card", "world", "novelai"]))
def test_fuzzed_json_structures_raise_only_our_error(path, value, which):
    template = {"card": V2_CARD, "world": WORLD_INFO, "novelai": NOVELAI_BOOK}[which]
    data = json.dumps(mutate(template, path, value)).encode()
    _parse_or_clear_error(parse_card, data)
    _parse_or_clear_error(parse_lorebook, data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_fuzzed_png_bytes_raise_only_our_error(position, byte):
    png = bytearray(GOOD_PNG)
    png[position % len(png)] = byte
    _parse_or_clear_error(parse_card, bytes(png))
