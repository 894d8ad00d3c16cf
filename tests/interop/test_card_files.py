"""Cards as other tools write them: SillyTavern's `use_regex`, portraits, a card's own book, hostile JSON."""

from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from card_samples import V2_CARD, b64json, png_with_chunks
from PIL import Image, PngImagePlugin

from app.interchange.cards import bind_book, card_json, card_png, character_lore, parse_card
from app.interchange.lorebooks import MAX_JSON_DEPTH, InterchangeError, parse_lorebook, world_info_json
from app.memory.lore import LoreSettings, ScanText, activate_lore

# SillyTavern's own export of a card book: `use_regex: true` on every entry, keys written plainly.
ST_ENTRY = {"keys": ["Shadowfang"], "secondary_keys": [], "comment": "Shadowfang pack", "content": "Wolves.",
            "constant": False, "selective": True, "insertion_order": 100, "enabled": True, "position": "before_char",
            "use_regex": True, "extensions": {"position": 0, "exclude_recursion": False, "display_index": 0,
                                              "probability": 100, "useProbability": True, "depth": 4,
                                              "selectiveLogic": 0, "group": "", "match_whole_words": None,
                                              "case_sensitive": None, "role": 0, "vectorized": False},
            "id": 0}


def st_card(*entries: dict) -> dict:
    card = copy.deepcopy(V2_CARD)
    card["data"]["character_book"] = {"entries": [copy.deepcopy(e) for e in entries], "name": "ST book"}
    return card


def test_sillytavern_use_regex_keys_stay_plain_and_fire(store):
    parsed = parse_card("st.json", json.dumps(st_card(ST_ENTRY, dict(ST_ENTRY, keys=["/shadow\\w+/i"], id=1)))
                        .encode())
    assert [e["keys"] for e in parsed.lore_entries] == [["Shadowfang"], ["/shadow\\w+/i"]]
    project = store.create_project("Wolves", language="en")
    characters, lore = store.import_bundle(project.id, [parsed.character], parsed.lore_entries)
    decisions = activate_lore(lore, ScanText(("The Shadowfangs howled.",)), settings=LoreSettings(), seed=1,
                              count_tokens=len)
    assert all(d.active for d in decisions), [d.reason for d in decisions]
    exported = json.loads(card_json(characters[0], lore))["data"]["character_book"]["entries"]
    assert exported[0]["keys"] == ["Shadowfang"] and exported[0]["use_regex"] is True


def _portrait() -> bytes:
    """A 40×24 RGBA picture whose every pixel differs, with a chunk of metadata of its own."""
    image = Image.new("RGBA", (40, 24))
    image.putdata([(x * 6, y * 10, (x * y) % 256, 128 + x) for y in range(24) for x in range(40)])
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "painter")
    info.add_text("chara", b64json(V2_CARD))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size, image.convert("RGBA").tobytes()


def test_png_portrait_round_trips_through_the_store_with_equal_pixels(store):
    original = _portrait()
    parsed = bind_book(parse_card("wolf.png", original), "link-1")
    project = store.create_project("Wolves", language="en")
    characters, lore = store.import_bundle(project.id, [parsed.character], parsed.lore_entries)
    exported = card_png(store.get_character(characters[0].id), character_lore(characters[0], lore))
    assert _pixels(exported) == _pixels(original)
    with Image.open(io.BytesIO(exported)) as image:
        image.load()
        assert image.text["Software"] == "painter" and {"chara", "ccv3"} <= set(image.text)
    again = parse_card("again.png", exported)
    assert again.character["name"] == "Aqua" and len(again.lore_entries) == 2
    assert _pixels(card_png(again.character, again.lore_entries)) == _pixels(original)


def test_a_card_exports_only_its_own_book_and_the_entries_linked_to_it(store):
    project = store.create_project("Konosuba", language="en")
    first = bind_book(parse_card("aqua.json", json.dumps(V2_CARD).encode()), "first")
    second = bind_book(parse_card("aqua.json", json.dumps(V2_CARD).encode()), "second")
    (aqua,), _ = store.import_bundle(project.id, [first.character], first.lore_entries)
    (aqua_again,), _ = store.import_bundle(project.id, [second.character], second.lore_entries)
    _, world = store.import_bundle(project.id, [], parse_lorebook("w.json", world_info_json(
        [dict(first.lore_entries[0], title="Axel", extensions={})])))
    everything = store.list_lore_entries(project.id)
    assert len(everything) == 5
    own = character_lore(aqua, everything)
    assert sorted(e.title for e in own) == ["", "Axis Church"] and all(e.extensions["character_book"] == "first"
                                                                for e in own)
    store.update_lore_entry(world[0].id, extensions={**world[0].extensions, "characters": [aqua.id]})
    linked = character_lore(store.get_character(aqua.id), store.list_lore_entries(project.id))
    assert sorted(e.title for e in linked) == ["", "Axel", "Axis Church"]
    book = json.loads(card_json(aqua_again, character_lore(aqua_again, store.list_lore_entries(project.id))))
    assert len(book["data"]["character_book"]["entries"]) == 2


def test_a_new_character_without_a_book_exports_no_book(store):
    project = store.create_project("New", language="en")
    fresh = store.create_character(project.id, name="Lin")
    assert character_lore(fresh, []) == []
    store.create_lore_entry(project.id, title="unrelated", content="x", keys=["x"])
    assert character_lore(fresh, store.list_lore_entries(project.id)) == []


@pytest.mark.parametrize("damage", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDX" + b"a" * 30,  # Pillow: "cannot identify image file <_io.BytesIO …>"
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00",
    b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,
])
def test_corrupt_png_names_the_problem_without_python_internals(damage):
    with pytest.raises(InterchangeError) as error:
        parse_card("portrait.png", damage)
    message = str(error.value)
    assert message.startswith("portrait.png:") and "PNG" in message
    assert "_io" not in message and "object at 0x" not in message and error.value.code == "card.png_unreadable"


def _deep(levels: int) -> dict:
    node: dict = {}
    root = node
    for _ in range(levels - 1):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 600, 900])
def test_deeply_nested_extensions_get_a_specific_error(levels):
    card = copy.deepcopy(V2_CARD)
    card["data"]["extensions"] = {"deep": _deep(levels)}
    data = json.dumps(card).encode()
    for parse, name in ((parse_card, "deep.json"), (parse_lorebook, "deep.json")):
        with pytest.raises(InterchangeError) as error:
            parse(name, data)
        assert error.value.code == "interchange.json_too_deep" and "nested" in str(error.value)
    with pytest.raises(InterchangeError, match="nested"):
        parse_card("deep.png", png_with_chunks({"chara": base64.b64encode(data).decode()}))


def test_nesting_at_the_limit_is_still_accepted():
    card = copy.deepcopy(V2_CARD)
    card["data"]["extensions"] = {"deep": _deep(MAX_JSON_DEPTH - 3)}  # card → data → extensions → deep
    assert parse_card("ok.json", json.dumps(card).encode()).character["extensions"]["deep"]


def test_brackets_inside_strings_do_not_count_as_nesting():
    card = copy.deepcopy(V2_CARD)
    card["data"]["description"] = "[{" * 5000 + '\\" }'
    assert parse_card("s.json", json.dumps(card).encode()).character["description"].startswith("[{[{")
