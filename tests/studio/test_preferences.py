"""The writer's preferences through the studio: the language and the remembered place, which never
names what has since been deleted."""

from __future__ import annotations

import pytest

from app.studio import InvalidInput, Studio
from story_store import Store


def test_language_is_unset_until_chosen_then_kept(studio: Studio) -> None:
    assert studio.preferences.language() is None
    studio.preferences.set_language("zh")
    assert studio.preferences.language() == "zh"
    with pytest.raises(InvalidInput) as refused:
        studio.preferences.set_language("fr")
    assert "fr" in str(refused.value) and "界面语言" in refused.value.render("zh")
    assert studio.preferences.language() == "zh"


def test_the_place_remembers_a_chapter_per_project_and_the_tab(studio: Studio) -> None:
    first, second = studio.library.create_project("甲"), studio.library.create_project("乙")
    a1, a2 = studio.chapters.add_chapter(first.id, "一"), studio.chapters.add_chapter(first.id, "二")
    b1 = studio.chapters.add_chapter(second.id, "壹")
    studio.preferences.remember_place(project_id=first.id, chapter_id=a2.id)
    studio.preferences.remember_place(project_id=second.id, chapter_id=b1.id)
    studio.preferences.remember_place(tab="polish")
    place = studio.preferences.place()
    assert (place.project_id, place.chapter_id, place.tab) == (second.id, b1.id, "polish")
    assert place.chapters == {first.id: a2.id, second.id: b1.id}
    studio.preferences.remember_place(project_id=first.id)  # back to the first: its chapter is still known
    assert studio.preferences.place().chapter_id == a2.id != a1.id


def test_what_was_deleted_is_never_reopened(studio: Studio) -> None:
    project = studio.library.create_project("Gone", language="en")
    chapter = studio.chapters.add_chapter(project.id, "Soon trashed")
    studio.preferences.remember_place(project_id=project.id, chapter_id=chapter.id)
    studio.chapters.delete_chapter(chapter.id)
    assert studio.preferences.place().chapter_id is None
    studio.library.delete_project(project.id)
    assert studio.preferences.place().project_id is None


def test_the_place_survives_a_restart(store: Store, engine, options, tmp_path) -> None:
    studio = Studio(store, engine, options)
    project = studio.library.create_project("Kept")
    chapter = studio.chapters.add_chapter(project.id, "Here")
    studio.preferences.remember_place(project_id=project.id, chapter_id=chapter.id, tab="write")
    studio.preferences.set_language("zh")
    url = str(store._engine.url)
    with Store(url) as reopened:
        again = Studio(reopened, engine, options)
        place = again.preferences.place()
        assert (place.project_id, place.chapter_id, place.tab) == (project.id, chapter.id, "write")
        assert again.preferences.language() == "zh"
