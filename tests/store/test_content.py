"""Projects, characters and lore entries on a real SQLite file: CRUD, validation, trash, cascade."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from story_store import NotFoundError, Store, ValidationError


def test_project_crud_roundtrip(store: Store) -> None:
    project = store.create_project("青云志", genre="仙侠", settings={"temperature": 0.8, "书": ["一"]})
    assert store.get_project(project.id) == project
    renamed = store.update_project(project.id, title="青云志·新", language="en", synopsis="s")
    assert (renamed.title, renamed.language, renamed.synopsis) == ("青云志·新", "en", "s")
    assert renamed.settings == {"temperature": 0.8, "书": ["一"]}
    assert renamed.updated_at >= project.updated_at
    assert [p.id for p in store.list_projects()] == [project.id]


def test_records_are_detached_copies(store: Store) -> None:
    project = store.create_project("A", settings={"k": [1]})
    project.settings["k"].append(2)  # mutating a record must not touch the database
    assert store.get_project(project.id).settings == {"k": [1]}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.create_project(""), "title"),
        (lambda s: s.create_project("   "), "title"),
        (lambda s: s.create_project("A", language="fr"), "language"),
        (lambda s: s.create_project("A", synopsis=5), "synopsis"),
        (lambda s: s.create_project("A", synopsis="x" * 5_000_001), "too long"),
        (lambda s: s.create_project("A", synopsis="bad \ud800 surrogate"), "Unicode"),
        (lambda s: s.create_project("A", genre="nul\x00"), "NUL"),
        (lambda s: s.create_project("A" * 501), "too long"),
        (lambda s: s.create_project("A", settings={"x": object()}), "JSON"),
        (lambda s: s.create_project("A", settings=[1]), "mapping"),
    ],
)
def test_bad_project_input_is_refused_and_nothing_written(store: Store, call, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call(store)
    assert store.list_projects(include_deleted=True) == []


def test_update_rejects_unknown_and_protected_fields(store: Store) -> None:
    project = store.create_project("A")
    for bad in ({"colour": "red"}, {"id": 9}, {"created_at": None}, {"deleted_at": None}):
        with pytest.raises(ValidationError, match="unknown field"):
            store.update_project(project.id, **bad)
    with pytest.raises(ValidationError, match="title") as blank:
        store.update_project(project.id, title="")
    assert "作品的标题不能为空" in blank.value.render("zh")  # a code the page renders in the writer's language
    assert store.get_project(project.id) == project


def test_missing_ids_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no project with id 42") as missing:
        store.get_project(42)
    assert "找不到编号为 42 的作品" in missing.value.render("zh")
    assert (missing.value.code, missing.value.values) == ("not_found", {"entity": "project", "id": 42})
    with pytest.raises(NotFoundError):
        store.create_character(42, "X")
    with pytest.raises(ValidationError, match="whole number"):
        store.get_character("1")  # type: ignore[arg-type]


def test_character_crud_and_trash(store: Store) -> None:
    project = store.create_project("A")
    hero = store.create_character(project.id, "林风", aliases=["小林", "风哥"], pinned=True,
                                  extensions={"depth_prompt": {"prompt": "x", "depth": 4}})
    other = store.create_character(project.id, "苏瑶")
    assert store.get_character(hero.id).aliases == ["小林", "风哥"]
    updated = store.update_character(hero.id, personality="冷静", card_data={"tags": ["a"]})
    assert (updated.personality, updated.card_data, updated.pinned) == ("冷静", {"tags": ["a"]}, True)
    with pytest.raises(ValidationError, match="aliases"):
        store.update_character(hero.id, aliases="小林")
    with pytest.raises(ValidationError, match="name"):
        store.create_character(project.id, "")
    trashed = store.delete_character(hero.id)
    assert trashed.deleted_at is not None
    assert [c.id for c in store.list_characters(project.id)] == [other.id]
    assert [c.id for c in store.list_characters(project.id, include_deleted=True)] == [hero.id, other.id]
    assert store.restore_character(hero.id).deleted_at is None
    assert len(store.list_characters(project.id)) == 2


def test_lore_crud_orders_by_insertion_order(store: Store) -> None:
    project = store.create_project("A")
    late = store.create_lore_entry(project.id, title="宗门", keys=["青云门"], insertion_order=200)
    early = store.create_lore_entry(project.id, title="灵石", keys=["/灵石|仙石/i"], insertion_order=10,
                                    constant=True, position="at_depth", depth=2, probability=50)
    tie = store.create_lore_entry(project.id, title="tie", insertion_order=200)
    assert [e.id for e in store.list_lore_entries(project.id)] == [early.id, late.id, tie.id]
    assert store.get_lore_entry(early.id).keys == ["/灵石|仙石/i"]
    changed = store.update_lore_entry(late.id, secondary_keys=["掌门"], selective_logic="not_all")
    assert (changed.secondary_keys, changed.selective_logic) == (["掌门"], "not_all")
    for bad in ({"probability": 101}, {"position": "top"}, {"selective_logic": "xor"},
                {"enabled": "yes"}, {"insertion_order": 1.5}, {"scan_depth": -1}):
        with pytest.raises(ValidationError):
            store.update_lore_entry(late.id, **bad)
    store.delete_lore_entry(tie.id)
    assert [e.id for e in store.list_lore_entries(project.id)] == [early.id, late.id]
    store.restore_lore_entry(tie.id)
    assert len(store.list_lore_entries(project.id)) == 3


def test_import_bundle_is_all_or_nothing(store: Store) -> None:
    project = store.create_project("A")
    characters, entries = store.import_bundle(
        project.id, [{"name": "甲", "greeting": "你好"}, {"name": "乙"}],
        [{"title": "x", "keys": ["k"]}])
    assert [c.name for c in characters] == ["甲", "乙"]
    assert entries[0].keys == ["k"] and entries[0].project_id == project.id
    with pytest.raises(ValidationError):
        store.import_bundle(project.id, [{"name": "丙"}], [{"title": "ok"}, {"probability": 300}])
    with pytest.raises(ValidationError, match="name"):
        store.import_bundle(project.id, [{"description": "no name"}], [])
    assert len(store.list_characters(project.id)) == 2
    assert len(store.list_lore_entries(project.id)) == 1


def test_project_trash_restore_and_listing(store: Store) -> None:
    keep = store.create_project("keep")
    gone = store.create_project("gone")
    store.create_chapter(gone.id, "c1", text="正文")
    store.delete_project(gone.id)
    assert [p.id for p in store.list_projects()] == [keep.id]
    assert [p.id for p in store.list_projects(include_deleted=True)] == [keep.id, gone.id]
    assert [(t.kind, t.id, t.label) for t in store.list_trash()] == [("project", gone.id, "gone")]
    store.restore_project(gone.id)
    assert store.list_trash() == []
    assert store.list_chapters(gone.id)[0].text == "正文"  # children were untouched


def test_list_trash_covers_every_kind_newest_first(store: Store) -> None:
    project = store.create_project("A")
    character = store.create_character(project.id, "甲")
    entry = store.create_lore_entry(project.id)
    chapter = store.create_chapter(project.id, "c")
    chat = store.create_chat_session(project.id, title="t")
    store.delete_character(character.id)
    store.delete_lore_entry(entry.id)
    store.delete_chapter(chapter.id)
    store.delete_chat_session(chat.id)
    trash = store.list_trash(project.id)
    assert [t.kind for t in trash] == ["chat", "chapter", "lore", "character"]
    assert trash[2].label == f"untitled lore #{entry.id}"
    assert store.list_trash(store.create_project("B").id) == []


def test_purge_project_cascades_to_every_child(store: Store) -> None:
    project = store.create_project("A")
    survivor = store.create_project("B")
    character = store.create_character(project.id, "甲")
    store.create_lore_entry(project.id, title="x")
    chapter = store.create_chapter(project.id, "c", text="v1")
    store.save_chapter_text(chapter.id, "v2", 1)
    first = store.create_passage(project.id, chapter_id=chapter.id, text="a")
    second = store.create_passage(project.id, parent_id=first.id, text="b")
    store.record_preference(project.id, "p", first.id, second.id)
    chat = store.create_chat_session(project.id, character_id=character.id)
    store.add_chat_message(chat.id, None, "user", "me", "hi")
    store.create_chapter(survivor.id, "other", text="stay")
    store.delete_project(project.id)
    store.purge_project(project.id)
    with pytest.raises(NotFoundError):
        store.get_project(project.id)
    tables = ["characters", "lore_entries", "chapters", "chapter_revisions", "passages",
              "preferences", "chat_sessions", "chat_messages"]
    counts = _row_counts(store.url, tables)
    assert counts == {t: 0 for t in tables} | {"chapters": 1, "chapter_revisions": 1}
    assert store.list_chapters(survivor.id)[0].text == "stay"


def _row_counts(url: str, tables: list[str]) -> dict[str, int]:
    """Count rows through a connection of our own, independent of the Store under test."""
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    engine.dispose()
    return counts


def test_purge_refuses_a_project_not_in_the_trash(store: Store) -> None:
    project = store.create_project("live")
    store.create_chapter(project.id, "c", text="keep me")
    with pytest.raises(ValidationError, match="not in the trash") as refused:
        store.purge_project(project.id)
    assert "不在回收站中" in refused.value.render("zh")
    assert [c.text for c in store.list_chapters(project.id)] == ["keep me"]
