"""Chapters on a real SQLite file: ordering, optimistic saves, conflicts, revisions, trash."""

from __future__ import annotations

import pytest

from story_store import ConflictError, Store, ValidationError


@pytest.fixture()
def project_id(store: Store) -> int:
    return store.create_project("长河").id


def _titles(store: Store, project_id: int) -> list[tuple[str, int]]:
    return [(c.title, c.ordinal) for c in store.list_chapters(project_id)]


def test_create_appends_and_inserts_with_renumbering(store: Store, project_id: int) -> None:
    store.create_chapter(project_id, "b")
    store.create_chapter(project_id, "d")
    store.create_chapter(project_id, "a", ordinal=1)
    store.create_chapter(project_id, "c", ordinal=3)
    store.create_chapter(project_id, "e", ordinal=99)  # past the end = append
    assert _titles(store, project_id) == [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]


def test_text_on_create_is_revision_one(store: Store, project_id: int) -> None:
    empty = store.create_chapter(project_id, "outline only", outline="beats")
    assert (empty.version, store.list_revisions(empty.id)) == (0, [])
    written = store.create_chapter(project_id, "imported", text="第一章正文", source="import")
    [revision] = store.list_revisions(written.id)
    assert (written.version, revision.version, revision.source, revision.text) == (1, 1, "import", "第一章正文")
    assert revision.parent_revision_id is None


def test_save_chain_builds_revision_history(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "c")
    v1 = store.save_chapter_text(chapter.id, "one", 0)
    v2 = store.save_chapter_text(chapter.id, "one two", v1.version, source="ai")
    assert (v1.version, v2.version, v2.text) == (1, 2, "one two")
    newest, oldest = store.list_revisions(chapter.id)
    assert (newest.version, newest.source, newest.parent_revision_id) == (2, "ai", oldest.id)
    assert store.get_revision(oldest.id).text == "one"
    same = store.save_chapter_text(chapter.id, "one two", 2)  # identical text: nothing to save
    assert same.version == 2 and len(store.list_revisions(chapter.id)) == 2


def test_stale_save_is_refused_and_changes_nothing(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "雨夜", text="她推开门。")
    current = store.save_chapter_text(chapter.id, "她推开门。雨还在下。", 1)  # another tab saved
    with pytest.raises(ConflictError) as caught:
        store.save_chapter_text(chapter.id, "她关上门。", 1)  # the stale tab
    error = caught.value
    assert (error.chapter_id, error.base_version, error.current_version) == (chapter.id, 1, 2)
    assert error.current_updated_at == current.updated_at
    assert "version 2" in str(error) and "+5 / −0" in str(error) and "not saved" in str(error)
    after = store.get_chapter(chapter.id)
    assert (after.text, after.version) == (current.text, 2)
    assert len(store.list_revisions(chapter.id)) == 2
    with pytest.raises(ConflictError, match="no version 7"):
        store.save_chapter_text(chapter.id, "x", 7)


def test_restore_revision_is_a_new_revision(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "c", text="first")
    store.save_chapter_text(chapter.id, "second", 1)
    first = store.list_revisions(chapter.id)[-1]
    restored = store.restore_revision(first.id, 2)
    assert (restored.text, restored.version) == ("first", 3)
    newest = store.list_revisions(chapter.id)[0]
    assert (newest.version, newest.source, newest.text) == (3, "restore", "first")
    with pytest.raises(ConflictError):
        store.restore_revision(first.id, 2)
    assert store.get_chapter(chapter.id).version == 3


def test_save_validates_input(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "c")
    for text, base, source in [(5, 0, "user"), ("x", -1, "user"), ("x", 0, "robot"),
                               ("x" * 5_000_001, 0, "user"), ("x", "0", "user")]:
        with pytest.raises(ValidationError):
            store.save_chapter_text(chapter.id, text, base, source=source)
    assert store.get_chapter(chapter.id).version == 0


def test_meta_update_does_not_bump_version(store: Store, project_id: int) -> None:
    hero = store.create_character(project_id, "林风")
    chapter = store.create_chapter(project_id, "c", text="t")
    meta = store.update_chapter_meta(chapter.id, title="新", summary="总结", status="draft",
                                     pov_character_id=hero.id)
    assert (meta.title, meta.summary, meta.status, meta.pov_character_id, meta.version) == (
        "新", "总结", "draft", hero.id, 1)
    stranger = store.create_character(store.create_project("other").id, "外人")
    with pytest.raises(ValidationError, match="another project") as refused:
        store.update_chapter_meta(chapter.id, pov_character_id=stranger.id)
    assert "不能作为本章的视角人物" in refused.value.render("zh")
    for bad in ({"text": "sneaky"}, {"version": 9}, {"status": "done"}):
        with pytest.raises(ValidationError):
            store.update_chapter_meta(chapter.id, **bad)
    assert store.get_chapter(chapter.id) == meta


def test_move_chapter_renumbers(store: Store, project_id: int) -> None:
    ids = [store.create_chapter(project_id, t).id for t in "abcd"]
    moved = store.move_chapter(ids[3], 1)
    assert [(c.title, c.ordinal) for c in moved] == [("d", 1), ("a", 2), ("b", 3), ("c", 4)]
    store.move_chapter(ids[3], 100)
    assert _titles(store, project_id) == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]


def test_trash_and_restore_chapter_keeps_its_place(store: Store, project_id: int) -> None:
    ids = [store.create_chapter(project_id, t, text=t * 3).id for t in "abc"]
    store.delete_chapter(ids[1])
    assert _titles(store, project_id) == [("a", 1), ("c", 2)]
    with pytest.raises(ValidationError, match="trash") as refused:
        store.move_chapter(ids[1], 1)
    assert "在回收站中；请先恢复" in refused.value.render("zh")
    restored = store.restore_chapter(ids[1])
    assert (restored.deleted_at, restored.text) == (None, "bbb")
    assert _titles(store, project_id) == [("a", 1), ("b", 2), ("c", 3)]


def test_chapters_mentioning_any_term(store: Store, project_id: int) -> None:
    a = store.create_chapter(project_id, "a", text="林风拔剑。")
    b = store.create_chapter(project_id, "b", outline="Su Yao arrives; 100% sure")
    store.create_chapter(project_id, "c", text="无关")
    gone = store.create_chapter(project_id, "d", text="林风")
    store.delete_chapter(gone.id)
    assert [c.id for c in store.chapters_mentioning(project_id, ["林风", "su yao"])] == [a.id, b.id]
    assert [c.id for c in store.chapters_mentioning(project_id, ["0%"])] == [b.id]
    assert store.chapters_mentioning(project_id, ["%"]) == [store.get_chapter(b.id)]
    assert store.chapters_mentioning(project_id, ["_"]) == []
    assert store.chapters_mentioning(project_id, []) == []


def test_create_chapters_is_one_all_or_nothing_import(store: Store, project_id: int) -> None:
    store.create_chapter(project_id, "existing")
    made = store.create_chapters(project_id, [{"title": "一", "text": "甲"}, {"title": "二", "outline": "o"}])
    assert [(c.ordinal, c.title, c.version) for c in made] == [(2, "一", 1), (3, "二", 0)]
    assert [(r.version, r.source) for r in store.list_revisions(made[0].id)] == [(1, "import")]
    with pytest.raises(ValidationError):
        store.create_chapters(project_id, [{"title": "三", "text": "ok"}, {"title": "四", "text": "bad\x00"}])
    assert [c.title for c in store.list_chapters(project_id)] == ["existing", "一", "二"]
