"""Bad ids and bad texts: each refused with a specific code and values, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from story_store import Store, ValidationError
from story_store.fields import INPUT_CAPS, MAX_FIELD_CHARS, check_input

BAD_IDS: list[tuple[Any, str]] = [
    (1.5, "id.not_whole_number"), (True, "id.not_whole_number"), ([1, 2], "id.not_whole_number"),
    ("1", "id.not_whole_number"), (None, "id.not_whole_number"), (10**20, "id.out_of_range"),
    (2**63, "id.out_of_range"), (0, "id.out_of_range"), (-1, "id.out_of_range"),
]


@pytest.fixture()
def book(store: Store) -> dict[str, int]:
    project = store.create_project("雨城")
    chapter = store.create_chapter(project.id, "第一章", text="正文")
    lore = store.create_lore_entry(project.id, title="青云门", content="设定")
    character = store.create_character(project.id, "林晚")
    return {"project": project.id, "chapter": chapter.id, "lore": lore.id, "character": character.id}


def _state(store: Store, book: dict[str, int]) -> tuple[Any, ...]:
    return (store.list_chapters(book["project"]), store.list_lore_entries(book["project"]),
            store.list_characters(book["project"]), store.list_trash())


@pytest.mark.parametrize(("bad", "code"), BAD_IDS, ids=[repr(b)[:12] for b, _ in BAD_IDS])
def test_bad_ids_are_refused_with_a_code_before_any_sql(store: Store, book: dict[str, int], bad: Any,
                                                        code: str) -> None:
    before = _state(store, book)
    calls = [
        lambda: store.list_chapters(bad),
        lambda: store.get_chapter(bad),
        lambda: store.delete_lore_entry(bad),
        lambda: store.update_character(bad, base_version=0, description="x"),
        lambda: store.save_chapter_text(bad, "x", 1),
        lambda: store.list_field_revisions("lore", bad),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.code == code
        assert caught.value.values["value"] == repr(bad)[:60]
        assert caught.value.values["entity"]
    assert _state(store, book) == before


def test_a_bad_id_is_explained_with_the_record_kind_in_the_writers_language(store: Store) -> None:
    for call, zh_kind, en_kind in ((lambda: store.get_chapter(0), "章节编号", "chapter"),
                                   (lambda: store.delete_lore_entry(1.5), "设定条目编号", "lore entry")):
        with pytest.raises(ValidationError) as caught:
            call()
        shown = caught.value.render("zh")
        assert shown.startswith(zh_kind) and en_kind not in shown, shown
        assert caught.value.values["entity"] == en_kind and en_kind in str(caught.value)


def test_bad_reference_ids_in_fields_are_refused(store: Store, book: dict[str, int]) -> None:
    for bad, code in BAD_IDS[:2] + BAD_IDS[5:]:
        with pytest.raises(ValidationError) as caught:
            store.update_chapter_meta(book["chapter"], pov_character_id=bad)
        assert caught.value.code == code, bad
    assert store.get_chapter(book["chapter"]).pov_character_id is None


def test_a_missing_id_is_a_coded_not_found(store: Store, book: dict[str, int]) -> None:
    from story_store import NotFoundError

    with pytest.raises(NotFoundError) as caught:
        store.get_chapter(book["chapter"] + 1000)
    assert caught.value.code == "not_found"
    assert caught.value.values == {"entity": "chapter", "id": book["chapter"] + 1000}


@pytest.mark.parametrize(("text", "code", "values"), [
    ("前半\ud800后半", "text.surrogate", {"position": 2}),
    ("a\x00b", "text.nul", {"position": 1}),
    ("字" * (MAX_FIELD_CHARS + 1), "text.too_long", {"length": MAX_FIELD_CHARS + 1, "limit": MAX_FIELD_CHARS}),
    (42, "text.not_text", {"got": "int"}),
])
def test_bad_texts_are_refused_with_a_code_and_nothing_changes(store: Store, book: dict[str, int], text: Any,
                                                               code: str, values: dict[str, Any]) -> None:
    before = _state(store, book)
    saves = [
        lambda: store.update_character(book["character"], base_version=0, description=text),
        lambda: store.update_lore_entry(book["lore"], base_version=0, content=text),
        lambda: store.update_chapter_meta(book["chapter"], base_version=0, outline=text),
        lambda: store.update_project(book["project"], base_version=0, synopsis=text),
    ]
    for save in saves:
        with pytest.raises(ValidationError) as caught:
            save()
        assert caught.value.code == code
        assert {k: caught.value.values[k] for k in values} == values
    assert _state(store, book) == before
    assert store.list_field_revisions("character", book["character"]) == []


@pytest.mark.parametrize("kind", sorted(INPUT_CAPS))
def test_every_input_class_has_a_cap(kind: str) -> None:
    limit = INPUT_CAPS[kind]
    assert check_input(kind, "字" * limit) == "字" * limit
    with pytest.raises(ValidationError) as caught:
        check_input(kind, "字" * (limit + 1))
    assert (caught.value.code, caught.value.values["limit"]) == ("text.too_long", limit)
    with pytest.raises(ValidationError) as surrogate:
        check_input(kind, "\udfff")
    assert surrogate.value.code == "text.surrogate"
