"""Role-play "as of chapter N": no text of chapters > N, no fact established after N and no lore revealed
after N reaches the prompt (prompt and inspector asserted); without the cutoff they do."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.studio import InvalidInput, Studio, StudioOptions


@pytest.fixture()
def studio(store, tiny_parts, tmp_path: Path) -> Studio:
    from app.engine.transformers_engine import TransformersEngine

    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=2048)
    return Studio(store, engine, StudioOptions(export_dir=tmp_path / "x", stream_interval_s=0.01,
                                               persist_interval_s=0.05))


def _book(studio: Studio):
    library, chapters = studio.library, studio.chapters
    project = library.create_project("青云志", language="zh")
    library.update_project(project.id, settings={"max_new_tokens": {"roleplay": 6}})
    character = library.create_character(project.id, "林微", greeting="你来了。")
    for n in (1, 2, 3):
        chapter = chapters.add_chapter(project.id, title=f"第{n}章")
        chapters.update_chapter_meta(chapter.id, summary=f"ZZSUM{n}：林微的第{n}段经历。")
    library.create_lore_entry(project.id, title="林微", keys=["林微"], constant=True,
                              content="林微是青云门弟子。\n林微 · 状态 · 重伤（第3章起）\n林微 · 境界 · 筑基（第1章起）")
    secret = library.create_lore_entry(project.id, title="ZZSECRET", keys=["林微"], constant=True,
                                       content="ZZSECRET林微是魔尊之女。")
    studio._core.store.set_lore_reveal(secret.id, 3)
    chat = studio.roleplay.start_chat(project.id, character.id, persona_name="萧长风")
    return chat


def _prompt_and_inspector(studio: Studio, chat) -> tuple[str, str]:
    list(studio.roleplay.chat_turn(chat.id, "林微，最近如何？", seed=3).updates())
    plan = studio.writing.last_context()
    shown = "\n".join(f"{i.label} {i.text} {i.reason}" for i in plan.items())
    return plan.render(), shown


def test_cutoff_keeps_later_chapters_facts_and_reveals_out(studio):
    chat = _book(studio)
    studio.roleplay.set_knowledge_cutoff(chat.id, 2)
    assert studio.roleplay.knowledge_cutoff(chat.id) == 2
    prompt, shown = _prompt_and_inspector(studio, chat)
    for text in (prompt, shown):
        assert "ZZSUM1" in text and "ZZSUM2" in text
        assert "ZZSUM3" not in text and "重伤" not in text and "ZZSECRET" not in text
        assert "筑基" in text  # a fact established by chapter 2 stays
    assert "as of chapter 2" in shown


def test_without_cutoff_everything_is_known(studio):
    chat = _book(studio)
    prompt, shown = _prompt_and_inspector(studio, chat)
    for text in (prompt, shown):
        assert "ZZSUM3" in text and "重伤" in text and "ZZSECRET" in text
    assert "as of chapter" not in shown


def test_a_bad_cutoff_is_refused(studio):
    chat = _book(studio)
    with pytest.raises(InvalidInput):
        studio.roleplay.set_knowledge_cutoff(chat.id, 0)
    assert studio.roleplay.knowledge_cutoff(chat.id) is None
