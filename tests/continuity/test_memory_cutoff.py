"""Story memory "as of chapter N": later chapters' summaries and retrieved passages stay out; the plan
names the cutoff; without a cutoff they are in."""

from __future__ import annotations

from datetime import datetime

from app.memory import ChatLine, ContextTask, build_context
from story_store.records import ChapterRecord, CharacterRecord, ProjectRecord, SearchHit

WHEN = datetime(2026, 1, 1)


def project() -> ProjectRecord:
    return ProjectRecord(1, "仙剑", "zh", "", "", "", "", {}, WHEN, WHEN, None)


def character(cid: int, name: str) -> CharacterRecord:
    return CharacterRecord(cid, 1, name, [], f"{name}的简介", "", "", "", "", "", "", "", False, {}, {}, WHEN, WHEN, None)


def chapter(cid: int, ordinal: int, text: str, summary: str) -> ChapterRecord:
    return ChapterRecord(cid, 1, ordinal, f"标题{ordinal}", "", summary, "draft", text, 1, None, WHEN, WHEN, None)


def _plan(cutoff, count_tokens):
    chapters = [chapter(i, i, text=f"第{i}章正文。", summary=f"ZZSUM{i}：林月如的第{i}段经历。") for i in (1, 2, 3)]
    hits = {3: "ZZHIT3林月如在第三章的秘密", 1: "ZZHIT1林月如初到扬州"}

    def search(term: str) -> list[SearchHit]:
        return [SearchHit("chapter", cid, 1, cid, f"标题{cid}", text) for cid, text in hits.items()]

    task = ContextTask("roleplay", values={"char_name": "林月如", "user_name": "逍遥"},
                       transcript=(ChatLine("逍遥", "林月如，你好。"),), focus_character_ids=(1,), as_of_chapter=cutoff)
    return build_context(task, project=project(), characters=[character(1, "林月如")], lore_entries=[],
                         chapters=chapters, current_chapter_id=None, budget_tokens=4000,
                         count_tokens=count_tokens, search=search)


def test_cutoff_keeps_later_chapters_out_of_prompt_and_inspector(count_tokens):
    plan = _plan(2, count_tokens)
    prompt = plan.render()
    assert "ZZSUM1" in prompt and "ZZSUM2" in prompt and "ZZSUM3" not in prompt
    assert "ZZHIT1" in prompt and "ZZHIT3" not in prompt
    shown = " ".join(i.label + i.text for i in plan.items())
    assert "ZZSUM3" not in shown and "ZZHIT3" not in shown
    frame = plan.section("frame").items  # labels are catalogue messages: compare their codes and values
    assert [(i.label.code, i.label.values) for i in frame] == [
        ("enum.task.roleplay", {}), ("memory.label.as_of_chapter", {"chapter": 2})]


def test_without_cutoff_later_chapters_are_in(count_tokens):
    plan = _plan(None, count_tokens)
    assert "ZZSUM3" in plan.render() and "ZZHIT3" in plan.render()
    assert [i.label.code for i in plan.section("frame").items] == ["enum.task.roleplay"]
