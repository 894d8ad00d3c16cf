"""Every writer-editable field group: a stale second tab is refused, history keeps every value,
restore brings one back (story_store.versioning)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from story_store import ConflictError, Store, ValidationError


@dataclass(frozen=True)
class Kind:
    """How to create one record of a kind, read the edited value and its version, and save it."""

    kind: str
    group: str
    create: Callable[[Store], int]
    value: Callable[[Store, int], Any]
    version: Callable[[Store, int], int]
    save: Callable[[Store, int, str, int | None], Any]


def _project(store: Store) -> int:
    return store.create_project("雨城", synopsis="原来的梗概", style_guide="短句").id


def _chapter(store: Store) -> int:
    return store.create_chapter(_project(store), "第一章", outline="原来的大纲").id


def _character(store: Store) -> int:
    return store.create_character(_project(store), "林晚", description="原来的小传").id


def _lore(store: Store) -> int:
    return store.create_lore_entry(_project(store), title="青云门", content="原来的设定", keys=["青云"]).id


def _message(store: Store) -> int:
    chat = store.create_chat_session(_project(store))
    return store.add_chat_message(chat.id, None, "user", "我", "原来的话").id


KINDS = [
    Kind("chapter", "outline", _chapter, lambda s, i: s.get_chapter(i).outline,
         lambda s, i: s.get_chapter(i).outline_version,
         lambda s, i, v, b: s.update_chapter_meta(i, base_version=b, outline=v)),
    Kind("chapter", "summary", _chapter, lambda s, i: s.get_chapter(i).summary,
         lambda s, i: s.get_chapter(i).summary_version,
         lambda s, i, v, b: s.update_chapter_meta(i, base_version=b, summary=v)),
    Kind("chapter", "meta", _chapter, lambda s, i: s.get_chapter(i).title,
         lambda s, i: s.get_chapter(i).meta_version,
         lambda s, i, v, b: s.update_chapter_meta(i, base_version=b, title=v, status="draft")),
    Kind("character", "sheet", _character, lambda s, i: s.get_character(i).description,
         lambda s, i: s.get_character(i).version,
         lambda s, i, v, b: s.update_character(i, base_version=b, description=v)),
    Kind("lore", "entry", _lore, lambda s, i: s.get_lore_entry(i).content,
         lambda s, i: s.get_lore_entry(i).version,
         lambda s, i, v, b: s.update_lore_entry(i, base_version=b, content=v)),
    Kind("project", "details", _project, lambda s, i: s.get_project(i).synopsis,
         lambda s, i: s.get_project(i).version,
         lambda s, i, v, b: s.update_project(i, base_version=b, synopsis=v)),
    Kind("project", "details", _project, lambda s, i: s.get_project(i).title,
         lambda s, i: s.get_project(i).version,
         lambda s, i, v, b: s.update_project(i, base_version=b, title=v)),
    Kind("project", "details", _project, lambda s, i: s.get_project(i).style_guide,
         lambda s, i: s.get_project(i).version,
         lambda s, i, v, b: s.update_project(i, base_version=b, style_guide=v)),
    Kind("project", "settings", _project, lambda s, i: s.get_project(i).settings.get("sampling", {}).get("note"),
         lambda s, i: s.get_project(i).settings_version,
         lambda s, i, v, b: s.update_project(i, base_version=b, settings={"sampling": {"note": v}})),
    Kind("chat_message", "text", _message, lambda s, i: s.get_chat_message(i).text,
         lambda s, i: s.get_chat_message(i).version,
         lambda s, i, v, b: s.edit_chat_message(i, v, b)),
]
IDS = [f"{k.kind}-{k.group}-{n}" for n, k in enumerate(KINDS)]


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_stale_second_tab_is_refused_and_the_first_text_survives_in_history(store_url: str, kind: Kind) -> None:
    with Store(store_url) as tab_a, Store(store_url) as tab_b:
        record_id = kind.create(tab_a)
        original = kind.value(tab_a, record_id)
        seen_by_b = kind.version(tab_b, record_id)
        kind.save(tab_a, record_id, "A 的新文字", seen_by_b)
        with pytest.raises(ConflictError) as caught:
            kind.save(tab_b, record_id, "B 的旧页面", seen_by_b)
        error = caught.value
        assert error.code == "conflict.stale"
        assert (error.kind, error.record_id, error.field_group) == (kind.kind, record_id, kind.group)
        assert (error.base_version, error.current_version) == (seen_by_b, seen_by_b + 1)
        assert error.changed_fields and error.added > 0 and error.current_updated_at is not None
        assert error.saved_source == "user"
        assert error.values["field_group"] == kind.group  # the data a UI renders
        # nothing of B's was written; A's text is current and in history, above the original
        assert kind.value(tab_b, record_id) == "A 的新文字"
        assert kind.version(tab_b, record_id) == seen_by_b + 1
        history = tab_b.list_field_revisions(kind.kind, record_id, kind.group)
        assert [(r.version, r.source) for r in history] == [(1, "user"), (0, "original")]
        assert all("B 的旧页面" not in str(r.values) for r in history)
        assert "A 的新文字" in str(history[0].values)
        assert original is None or str(original) in str(history[1].values)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_restore_from_history_is_a_new_checked_save(store: Store, kind: Kind) -> None:
    record_id = kind.create(store)
    original = kind.value(store, record_id)
    kind.save(store, record_id, "第二稿", 0)
    kind.save(store, record_id, "第三稿", 1)
    oldest = store.list_field_revisions(kind.kind, record_id, kind.group)[-1]
    with pytest.raises(ConflictError):
        store.restore_field_revision(oldest.id, base_version=1)  # a stale tab restores nothing
    assert kind.value(store, record_id) == "第三稿"
    store.restore_field_revision(oldest.id, base_version=2)
    assert kind.value(store, record_id) == original
    history = store.list_field_revisions(kind.kind, record_id, kind.group)
    assert [(r.version, r.source) for r in history] == [(3, "restore"), (2, "user"), (1, "user"), (0, "original")]


def test_groups_of_one_record_do_not_conflict_with_each_other(store: Store) -> None:
    chapter_id = _chapter(store)
    seen = store.get_chapter(chapter_id)
    store.update_chapter_meta(chapter_id, base_version=seen.outline_version, outline="新大纲")
    saved = store.update_chapter_meta(chapter_id, base_version=seen.summary_version, summary="新摘要")
    assert (saved.outline, saved.summary, saved.outline_version, saved.summary_version) == ("新大纲", "新摘要", 1, 1)
    assert saved.meta_version == 0 and saved.version == seen.version


def test_a_versioned_save_names_one_group_and_changes_nothing_otherwise(store: Store) -> None:
    chapter_id = _chapter(store)
    with pytest.raises(ValidationError) as caught:
        store.update_chapter_meta(chapter_id, base_version=0, outline="x", summary="y")
    assert caught.value.code == "version.one_group_per_save"
    assert caught.value.values["groups"] == ["outline", "summary"]
    chapter = store.get_chapter(chapter_id)
    assert (chapter.outline, chapter.summary, chapter.outline_version) == ("原来的大纲", "", 0)
    assert store.list_field_revisions("chapter", chapter_id) == []


def test_saving_the_stored_values_adds_no_version(store: Store) -> None:
    character_id = _character(store)
    saved = store.update_character(character_id, base_version=0, description="原来的小传")
    assert saved.version == 0 and store.list_field_revisions("character", character_id) == []


def test_a_version_from_the_future_is_refused(store: Store) -> None:
    lore_id = _lore(store)
    with pytest.raises(ConflictError) as caught:
        store.update_lore_entry(lore_id, base_version=5, content="x")
    assert caught.value.code == "conflict.unknown_version"
    assert store.get_lore_entry(lore_id).content == "原来的设定"


def test_the_studios_own_writes_are_versioned_and_kept(store: Store) -> None:
    """base_version=None (a generated summary) is never refused, yet it moves the version and a stale
    writer's tab is refused afterwards; both values stay in history."""
    chapter_id = _chapter(store)
    store.update_chapter_meta(chapter_id, summary="模型写的摘要", source="ai")
    with pytest.raises(ConflictError) as caught:
        store.update_chapter_meta(chapter_id, base_version=0, summary="作者的旧页面")
    assert caught.value.saved_source == "ai"
    history = store.list_field_revisions("chapter", chapter_id, "summary")
    assert [(r.source, r.values["summary"]) for r in history] == [("ai", "模型写的摘要"), ("original", "")]


def test_author_is_recorded_and_reported(store: Store) -> None:
    character_id = _character(store)
    store.update_character(character_id, base_version=0, author="tab-1", description="新")
    with pytest.raises(ConflictError) as caught:
        store.update_character(character_id, base_version=0, author="tab-2", description="旧")
    assert caught.value.saved_by == "tab-1"


def test_racing_saves_on_one_version_let_exactly_one_win(store: Store) -> None:
    character_id = _character(store)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def save(n: int) -> None:
        start.wait()
        try:
            store.update_character(character_id, base_version=0, description=f"第{n}稿")
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    assert [r.version for r in store.list_field_revisions("character", character_id)] == [1, 0]


def test_a_streaming_message_cannot_be_edited(store: Store) -> None:
    chat = store.create_chat_session(_project(store))
    message = store.add_chat_message(chat.id, None, "character", "林晚", "正在", status="streaming")
    with pytest.raises(ValidationError) as caught:
        store.edit_chat_message(message.id, "改", message.version)
    assert caught.value.code == "chat.message_streaming"
    assert store.get_chat_message(message.id).text == "正在"


def test_history_names_kinds_and_groups_it_keeps(store: Store) -> None:
    project_id = _project(store)
    with pytest.raises(ValidationError) as kind:
        store.list_field_revisions("passage", project_id)
    with pytest.raises(ValidationError) as group:
        store.list_field_revisions("project", project_id, "text")
    assert (kind.value.code, group.value.code) == ("history.unknown_kind", "history.unknown_group")


def test_history_is_in_backups(sqlite_store: Store, tmp_path) -> None:
    character_id = _character(sqlite_store)
    sqlite_store.update_character(character_id, base_version=0, description="备份前")
    backup = sqlite_store.backup_now(tmp_path / "backups")
    sqlite_store.update_character(character_id, base_version=1, description="备份后")
    sqlite_store.restore_backup(backup.path)
    history = sqlite_store.list_field_revisions("character", character_id)
    assert [r.values["description"] for r in history] == ["备份前", "原来的小传"]
    assert sqlite_store.get_character(character_id).version == 1


def test_purging_a_project_removes_its_history(store: Store) -> None:
    character_id = _character(store)
    project_id = store.get_character(character_id).project_id
    store.update_character(character_id, base_version=0, description="x")
    store.delete_project(project_id)
    store.purge_project(project_id)
    other = _character(store)
    assert store.list_field_revisions("character", other) == []
