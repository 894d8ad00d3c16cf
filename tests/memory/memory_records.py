"""Record builders for memory tests: real frozen records from story_store.records, with defaults."""

from __future__ import annotations

from datetime import datetime

from story_store.records import ChapterRecord, CharacterRecord, LoreEntryRecord, ProjectRecord

WHEN = datetime(2026, 1, 1)


def project(**values) -> ProjectRecord:
    fields = dict(id=1, title="仙剑", language="zh", genre="仙侠", synopsis="", style_guide="", authors_note="",
                  settings={}, created_at=WHEN, updated_at=WHEN, deleted_at=None)
    return ProjectRecord(**{**fields, **values})


def character(id: int, name: str, **values) -> CharacterRecord:
    fields = dict(id=id, project_id=1, name=name, aliases=[], description=f"{name}的简介", personality="",
                  appearance="", background="", speech_style="", greeting="", example_dialogue="", scenario="",
                  pinned=False, extensions={}, card_data={}, created_at=WHEN, updated_at=WHEN, deleted_at=None)
    return CharacterRecord(**{**fields, **values})


def lore(id: int, keys: list[str], content: str = "", **values) -> LoreEntryRecord:
    fields = dict(id=id, project_id=1, title=f"L{id}", content=content or f"设定{id}", keys=keys,
                  secondary_keys=[], selective_logic="and_any", constant=False, enabled=True,
                  case_sensitive=False, match_whole_words=False, insertion_order=100, position="before_char",
                  depth=4, probability=100, scan_depth=None, ignore_budget=False, exclude_recursion=False,
                  prevent_recursion=False, extensions={}, created_at=WHEN, updated_at=WHEN, deleted_at=None)
    return LoreEntryRecord(**{**fields, **values})


def chapter(id: int, ordinal: int, text: str = "", summary: str = "", **values) -> ChapterRecord:
    fields = dict(id=id, project_id=1, ordinal=ordinal, title=f"标题{ordinal}", outline="", summary=summary,
                  status="draft", text=text, version=1, pov_character_id=None, created_at=WHEN,
                  updated_at=WHEN, deleted_at=None)
    return ChapterRecord(**{**fields, **values})
