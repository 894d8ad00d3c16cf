"""Writing tools: outline, character bio, script outline and short video, streamed into kept passages."""

from __future__ import annotations

import pytest

from app.studio import InvalidInput, Studio
from studio_helpers import drain, new_project


def test_each_tool_streams_into_a_kept_passage_that_starts_with_the_template_lead(studio: Studio, store):
    project = new_project(studio)
    hero = studio.library.create_character(project.id, "林远", description="青衫少年")
    runs = {"outline": (studio.tools.outline_book(project.id, "少年入山门，修仙问道。", 5, seed=3), "第1章"),
            "character_bio": (studio.tools.character_bio(hero.id, "孤儿，寡言。", seed=3), "姓名：林远"),
            "script_outline": (studio.tools.script_outline(project.id, "山门试炼。", seed=3), "第一幕："),
            "short_video": (studio.tools.short_video(project.id, "青云门收徒", 30, seed=3), "镜头1：")}
    for tool, (generation, lead) in runs.items():
        _, final = drain(generation)
        (kept,) = studio.tools.results(project.id, tool)
        assert kept.id == final.passage_ids[0] and kept.chapter_id is None and kept.status == "done"
        assert kept.text == lead + final.texts[0]
    assert studio.chapters.list_chapters(project.id) == []  # tools never touch the manuscript


def test_the_same_seed_gives_the_same_outline_and_results_are_newest_first(studio: Studio):
    project = new_project(studio)
    first = drain(studio.tools.outline_book(project.id, "少年入山门。", 3, seed=11))[1]
    again = drain(studio.tools.outline_book(project.id, "少年入山门。", 3, seed=11))[1]
    assert first.texts == again.texts
    assert [p.id for p in studio.tools.results(project.id, "outline")] == [again.passage_ids[0], first.passage_ids[0]]


def test_a_bio_goes_into_the_sheet_only_when_asked_and_the_old_background_is_restorable(studio: Studio, store):
    project = new_project(studio)
    hero = studio.library.create_character(project.id, "林远", background="山村孤儿。")
    _, final = drain(studio.tools.character_bio(hero.id, seed=5))
    assert studio.library.get_character(hero.id).background == "山村孤儿。"
    saved = studio.tools.bio_into_sheet(final.passage_ids[0], hero.id)
    assert saved.background == store.get_passage(final.passage_ids[0]).text.strip()
    assert saved.version == hero.version + 1
    outline = drain(studio.tools.outline_book(project.id, "x", 2, seed=1))[1]
    with pytest.raises(InvalidInput) as refused:
        studio.tools.bio_into_sheet(outline.passage_ids[0], hero.id)
    assert refused.value.message.code == "tools.not_a_bio"


@pytest.mark.parametrize("call, code", [
    (lambda s, p: s.tools.outline_book(p, "   "), "tools.material_missing"),
    (lambda s, p: s.tools.outline_book(p, "x", 0), "tools.chapter_count_range"),
    (lambda s, p: s.tools.short_video(p, "x", 10_000), "tools.duration_range"),
    (lambda s, p: s.tools.script_outline(p, "长" * 5000), "tools.material_too_long"),
    (lambda s, p: s.tools.results(p, "poem"), "tools.unknown_tool"),
])
def test_bad_material_is_refused_before_anything_is_stored(studio: Studio, store, call, code):
    project = new_project(studio)
    with pytest.raises(InvalidInput) as refused:
        call(studio, project.id)
    assert refused.value.message.code == code
    assert store.list_passages(project.id) == []
