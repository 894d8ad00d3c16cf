"""Library use cases: conflicts, trash, chapter meta, sampling defaults, mentions, cards and lorebooks."""

from __future__ import annotations

import json

import pytest

from app.engine import SamplingParams
from app.studio import InvalidInput, NotFound, SaveConflict, Studio
from studio_helpers import new_project


def test_stale_save_is_refused_and_nothing_is_overwritten(studio: Studio):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id, title="夜雨")
    first = studio.chapters.save_chapter(chapter.id, "第一版。", base_version=0)
    second = studio.chapters.save_chapter(chapter.id, "第二版。", base_version=first.version)  # the other tab
    with pytest.raises(SaveConflict) as caught:
        studio.chapters.save_chapter(chapter.id, "过时的标签页。", base_version=first.version)
    assert caught.value.current_version == second.version and str(caught.value)
    stored = studio.chapters.get_chapter(chapter.id)
    assert (stored.text, stored.version) == ("第二版。", second.version)
    assert [r.text for r in studio.chapters.list_revisions(chapter.id)] == ["第二版。", "第一版。"]
    restored = studio.chapters.restore_revision(studio.chapters.list_revisions(chapter.id)[1].id, base_version=second.version)
    assert restored.text == "第一版。" and studio.chapters.list_revisions(chapter.id)[0].source == "restore"


def test_trash_and_restore_every_kind(studio: Studio):
    project = new_project(studio)
    character = studio.library.create_character(project.id, "林凡")
    entry = studio.library.create_lore_entry(project.id, title="青云门", content="山门", keys=["青云"])
    chapter = studio.chapters.add_chapter(project.id, title="一")
    studio.library.delete_character(character.id)
    studio.library.delete_lore_entry(entry.id)
    studio.chapters.delete_chapter(chapter.id)
    assert {(t.kind, t.id) for t in studio.library.list_trash(project.id)} == {
        ("character", character.id), ("lore", entry.id), ("chapter", chapter.id)}
    assert studio.library.list_characters(project.id) == [] and studio.chapters.list_chapters(project.id) == []
    for item in studio.library.list_trash(project.id):
        studio.library.restore_item(item.kind, item.id)
    assert studio.library.list_trash(project.id) == []
    assert [c.id for c in studio.library.list_characters(project.id)] == [character.id]
    studio.library.delete_project(project.id)
    assert project.id not in [p.id for p in studio.library.list_projects()]
    studio.library.restore_project(project.id)
    assert project.id in [p.id for p in studio.library.list_projects()]
    with pytest.raises(InvalidInput):
        studio.library.restore_item("spaceship", 1)


def test_chapter_meta_moves_and_refusals(studio: Studio):
    project = new_project(studio)
    one, two = studio.chapters.add_chapter(project.id, title="一"), studio.chapters.add_chapter(project.id, title="二")
    assert [c.id for c in studio.chapters.move_chapter(two.id, 1)] == [two.id, one.id]
    updated = studio.chapters.update_chapter_meta(one.id, outline="大纲", summary="摘要", status="draft")
    assert (updated.outline, updated.summary, updated.status, updated.version) == ("大纲", "摘要", "draft", 0)
    with pytest.raises(InvalidInput, match="save_chapter"):
        studio.chapters.update_chapter_meta(one.id, text="偷偷改正文")
    with pytest.raises(InvalidInput):
        studio.chapters.update_chapter_meta(one.id, status="published")
    with pytest.raises(NotFound) as missing:
        studio.chapters.get_chapter(12345)
    assert "找不到编号为 12345 的章节" in missing.value.render("zh")  # the store's code reaches the page
    with pytest.raises(InvalidInput) as blank:
        studio.library.create_project("", language="zh")
    assert "作品的标题不能为空" in blank.value.render("zh")


def test_sampling_defaults_per_project(studio: Studio):
    project = new_project(studio)
    assert studio.settings.sampling_defaults(project.id) == SamplingParams()
    wanted = SamplingParams(temperature=0.5, top_p=0.85, top_k=30, repetition_penalty=1.1)
    studio.settings.set_sampling_defaults(project.id, wanted)
    assert studio.settings.sampling_defaults(project.id) == wanted
    assert studio.library.get_project(project.id).settings["max_new_tokens"]  # other settings survive


def test_chapters_mentioning_a_character_by_name_or_alias(studio: Studio):
    project = new_project(studio)
    character = studio.library.create_character(project.id, "林凡", aliases=["小凡"])
    a, b, c = (studio.chapters.add_chapter(project.id, title=t) for t in "一二三")
    studio.chapters.save_chapter(a.id, "林凡上山。", base_version=0)
    studio.chapters.save_chapter(b.id, "小凡哭了。", base_version=0)
    studio.chapters.save_chapter(c.id, "无关的一章。", base_version=0)
    assert [ch.id for ch in studio.library.chapters_mentioning_character(character.id)] == [a.id, b.id]


CARD = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
    "name": "沈砚秋", "description": "剑修", "personality": "冷静", "scenario": "山门", "first_mes": "你来了。",
    "mes_example": "", "creator_notes": "私人备注", "system_prompt": "", "post_history_instructions": "",
    "alternate_greetings": ["又见面了。"], "tags": ["xianxia"], "creator": "me", "character_version": "1",
    "extensions": {"custom_tool": {"keep": True}},
    "character_book": {"entries": [{"keys": ["青云门"], "content": "天下第一大派", "enabled": True,
                                    "insertion_order": 10, "extensions": {}}]}}}


def test_character_card_and_lorebook_round_trip(studio: Studio):
    project = new_project(studio)
    character = studio.exchange.import_character_card(project.id, "card.json", json.dumps(CARD).encode("utf-8"))
    assert (character.name, character.greeting) == ("沈砚秋", "你来了。")
    assert [e.content for e in studio.library.list_lore(project.id)] == ["天下第一大派"]
    exported = json.loads(studio.exchange.export_character_card(character.id, "json").read_text("utf-8"))
    assert exported["data"]["extensions"]["custom_tool"] == {"keep": True}
    assert exported["data"]["creator_notes"] == "私人备注"
    png = studio.exchange.export_character_card(character.id, "png")
    copy = studio.exchange.import_character_card(project.id, png.name, png.read_bytes())
    assert (copy.name, copy.description, copy.extensions["custom_tool"]) == ("沈砚秋", "剑修", {"keep": True})

    book = studio.exchange.export_lorebook(project.id)
    other = new_project(studio, title="另一本")
    imported = studio.exchange.import_lorebook(other.id, book.name, book.read_bytes())
    # the card was imported twice (JSON, then the exported PNG), each bringing its book entry
    assert [(e.keys, e.content) for e in imported] == [(["青云门"], "天下第一大派")] * 2


def test_malformed_cards_and_lorebooks_import_nothing(studio: Studio):
    project = new_project(studio)
    for name, data in [("bad.json", b"{not json"), ("fake.png", b"\x89PNG\r\n\x1a\nnope"),
                       ("bad.json", "不是 UTF-8".encode("gbk"))]:
        with pytest.raises(InvalidInput):
            studio.exchange.import_character_card(project.id, name, data)
        with pytest.raises(InvalidInput):
            studio.exchange.import_lorebook(project.id, name, data)
    assert studio.library.list_characters(project.id) == [] and studio.library.list_lore(project.id) == []
