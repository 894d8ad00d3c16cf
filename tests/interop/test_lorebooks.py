"""SillyTavern World Info import/export and NovelAI .lorebook import."""

from __future__ import annotations

import json

from card_samples import NOVELAI_BOOK, WORLD_INFO

from app.interchange.lorebooks import parse_lorebook, world_info_json


def test_world_info_import_maps_columns():
    axel, king = parse_lorebook("konosuba.json", json.dumps(WORLD_INFO).encode())
    assert (axel["title"], axel["keys"], axel["prevent_recursion"], axel["position"]) == (
        "Axel town", ["Axel"], True, "before_char")
    assert (king["constant"], king["enabled"], king["selective_logic"], king["position"]) == (
        True, False, "not_any", "at_depth")
    assert (king["probability"], king["scan_depth"], king["case_sensitive"], king["match_whole_words"]) == (
        40, 6, True, True)
    assert king["ignore_budget"] is True and king["secondary_keys"] == ["army"]


def test_world_info_round_trip_through_the_store_keeps_every_field(store):
    project = store.create_project("Konosuba", language="en")
    entries = parse_lorebook("konosuba.json", json.dumps(WORLD_INFO).encode())
    _, lore = store.import_bundle(project.id, [], entries)
    exported = json.loads(world_info_json(lore, name="Konosuba world"))
    assert exported == WORLD_INFO


def test_world_info_export_of_edited_and_new_entries(store):
    project = store.create_project("Konosuba", language="en")
    _, lore = store.import_bundle(project.id, [], parse_lorebook("k.json", json.dumps(WORLD_INFO).encode()))
    edited = store.update_lore_entry(lore[0].id, content="A bigger town.", keys=["Axel", "Axel town"])
    new = store.create_lore_entry(project.id, title="Explosion", content="Megumin's spell.", keys=["explosion"],
                                  position="after_char", probability=70)
    out = json.loads(world_info_json([edited, new]))["entries"]
    assert out["0"]["content"] == "A bigger town." and out["0"]["key"] == ["Axel", "Axel town"]
    assert out["0"]["groupWeight"] == 100 and out["0"]["automationId"] == ""  # untouched unknown fields
    assert (out["1"]["comment"], out["1"]["position"], out["1"]["probability"], out["1"]["useProbability"]) == (
        "Explosion", 1, 70, True)
    reread = parse_lorebook("again.json", world_info_json([edited, new]))
    assert [e["content"] for e in reread] == ["A bigger town.", "Megumin's spell."]


def test_world_info_entries_as_a_list_are_accepted():
    book = {"entries": [WORLD_INFO["entries"]["0"]]}
    assert parse_lorebook("list.json", json.dumps(book).encode())[0]["title"] == "Axel town"


def test_novelai_lorebook_import():
    capital, constant = parse_lorebook("world.lorebook", json.dumps(NOVELAI_BOOK).encode())
    assert capital["title"] == "Capital" and capital["keys"] == ["capital", "/royal\\s+city/i"]
    assert capital["content"] == "The capital city." and capital["constant"] is False
    assert constant["constant"] is True
    assert capital["extensions"]["source"]["entry"]["searchRange"] == 1000
