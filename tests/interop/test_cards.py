"""Character Card V2/V3 as JSON and PNG: parse, store, export; every field and extension survives."""

from __future__ import annotations

import copy
import json

import pytest
from card_samples import V2_CARD, V3_CARD, b64json, png_with_chunks

from app.interchange.cards import card_json, card_object, card_png, parse_card
from app.interchange.lorebooks import InterchangeError


def as_json(card) -> bytes:
    return json.dumps(card, ensure_ascii=False).encode("utf-8")


def test_v2_json_maps_fields_and_book():
    parsed = parse_card("aqua.json", as_json(V2_CARD))
    c = parsed.character
    assert parsed.spec == "chara_card_v2"
    assert (c["name"], c["greeting"], c["example_dialogue"], c["scenario"]) == (
        "Aqua", "Hello!", "<START>\n{{char}}: Hi", "A tavern.")
    assert c["extensions"] == V2_CARD["data"]["extensions"]
    assert c["card_data"]["creator_notes"] == "NEVER-IN-PROMPT"
    first, second = parsed.lore_entries
    assert first["title"] == "Axis Church" and first["keys"] == ["Axis", "/axis\\s+church/i"]
    assert (first["position"], first["depth"], first["probability"]) == ("at_depth", 2, 60)
    assert (first["selective_logic"], first["exclude_recursion"], first["insertion_order"]) == ("and_all", True, 10)
    assert first["secondary_keys"] == ["water", "goddess"]
    assert second["enabled"] is False and second["position"] == "before_char"


@pytest.mark.parametrize("card", [V2_CARD, V3_CARD], ids=["v2", "v3"])
def test_json_round_trip_through_the_store_is_exact(store, card):
    parsed = parse_card("card.json", as_json(card))
    project = store.create_project("Konosuba", language="en")
    characters, lore = store.import_bundle(project.id, [parsed.character], parsed.lore_entries)
    assert json.loads(card_json(characters[0], lore)) == card
    again = parse_card("again.json", card_json(characters[0], lore))
    assert again.character == parsed.character and again.lore_entries == parsed.lore_entries


def test_png_round_trip_through_the_store(store):
    parsed = parse_card("aqua.json", as_json(V2_CARD))
    project = store.create_project("Konosuba", language="en")
    characters, lore = store.import_bundle(project.id, [parsed.character], parsed.lore_entries)
    png = card_png(characters[0], lore)
    from_png = parse_card("aqua.png", png)
    assert from_png.spec == "chara_card_v3"  # ccv3 preferred when both chunks are present
    stored_again, lore_again = store.import_bundle(project.id, [from_png.character], from_png.lore_entries)
    assert card_object(stored_again[0], lore_again, "chara_card_v2") == V2_CARD
    for field in ("name", "description", "greeting", "extensions", "aliases"):
        assert getattr(stored_again[0], field) == getattr(characters[0], field)


def test_png_prefers_ccv3_and_falls_back_to_chara():
    v2 = copy.deepcopy(V2_CARD)
    v2["data"]["name"] = "From V2"
    both = png_with_chunks({"chara": b64json(v2), "ccv3": b64json(V3_CARD)})
    assert parse_card("both.png", both).character["name"] == "Aqua"
    only_v2 = png_with_chunks({"chara": b64json(v2)})
    assert parse_card("v2.png", only_v2).character["name"] == "From V2"


def test_our_own_columns_travel_in_extensions_inkstone():
    parsed = parse_card("aqua.json", as_json(V2_CARD))
    edited = dict(parsed.character, aliases=["Water goddess"], appearance="blue hair", pinned=True)
    exported = card_object(edited, parsed.lore_entries)
    assert exported["data"]["extensions"]["inkstone"] == {"aliases": ["Water goddess"], "appearance": "blue hair",
                                                          "pinned": True}
    back = parse_card("back.json", as_json(exported)).character
    assert back["aliases"] == ["Water goddess"] and back["pinned"] is True
    assert "inkstone" not in back["extensions"] and back["extensions"] == V2_CARD["data"]["extensions"]


def test_edited_lore_is_written_back_and_unknown_fields_kept():
    parsed = parse_card("aqua.json", as_json(V2_CARD))
    entry = dict(parsed.lore_entries[0], probability=25, content="Edited.", position="after_char")
    book_entry = card_object(parsed.character, [entry])["data"]["character_book"]["entries"][0]
    assert book_entry["content"] == "Edited." and book_entry["extensions"]["probability"] == 25
    assert book_entry["extensions"]["position"] == 1 and book_entry["position"] == "after_char"
    assert book_entry["extensions"]["custom_tool"] == {"x": [1]} and book_entry["priority"] == 3


def test_card_without_book_and_new_character_export():
    fresh = {"name": "新角色", "description": "d", "personality": "", "scenario": "", "greeting": "你好",
             "example_dialogue": "", "aliases": [], "appearance": "", "background": "", "speech_style": "",
             "pinned": False, "extensions": {}, "card_data": {}}
    card = json.loads(card_json(fresh, []))
    assert card["spec"] == "chara_card_v3" and card["data"]["first_mes"] == "你好"
    assert "character_book" not in card["data"]
    assert parse_card("new.png", card_png(fresh, [])).character["name"] == "新角色"


def test_v1_card_is_accepted():
    parsed = parse_card("v1.json", as_json({"name": "Old", "description": "legacy", "first_mes": "hi"}))
    assert parsed.spec == "chara_card_v1" and parsed.character["greeting"] == "hi"


def test_avatar_image_is_used_and_bad_avatar_refused():
    parsed = parse_card("aqua.json", as_json(V2_CARD))
    avatar = png_with_chunks({}, size=(32, 48))
    png = card_png(parsed.character, parsed.lore_entries, image=avatar)
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png)).size == (32, 48)
    with pytest.raises(InterchangeError, match="avatar"):
        card_png(parsed.character, parsed.lore_entries, image=b"not an image")
