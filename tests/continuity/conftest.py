"""A small book in each language, kept in a real store: characters, lore (with fact lines), glossary."""

from __future__ import annotations

import pytest

from app.continuity import import_from_lore, parse_lines, story_facts

ZH_FACT_LINES = ["林微 · 状态 · 死亡（第12章起）", "萧长风 · 境界 · 金丹（第20章起）", "青冥剑 · 主人 · 林微（第5章起）"]
ZH_LORE = "境界：炼气 < 筑基 < 金丹 < 元婴\n曲率引擎 ≠ 曲速引擎、曲速驱动\n青冥剑乃上古神兵。"
EN_FACT_LINES = ["Mara Quill · status · dead (since chapter 12)", "Tobin Ash · rank · Adept (since chapter 20)",
                 "Moonblade · owner · Mara Quill (since chapter 5)"]
EN_LORE = "rank: Novice < Adept < Master\nwarp engine != warp drive, warpdrive\nThe Moonblade was forged in ice."


def _book(store, language: str, people: list[tuple[str, list[str]]], item: str, lore: str, fact_lines: list[str]):
    project = store.create_project("Book", language=language)
    characters = [store.create_character(project.id, name, aliases=aliases) for name, aliases in people]
    entry = store.create_lore_entry(project.id, title=item, keys=[item], content=lore)
    imported = import_from_lore([entry])
    stated = parse_lines(fact_lines, "fact", None)
    return story_facts(language, characters=characters, lore_entries=[entry], facts=stated.facts,
                       glossary=imported.glossary, rank_scales=imported.rank_scales), characters, entry


@pytest.fixture()
def zh_book(store):
    return _book(store, "zh", [("林微", ["阿微"]), ("萧长风", ["长风"]), ("苏婉", [])], "青冥剑", ZH_LORE, ZH_FACT_LINES)


@pytest.fixture()
def en_book(store):
    return _book(store, "en", [("Mara Quill", ["Mara"]), ("Tobin Ash", ["Tobin"]), ("Selene Roe", ["Selene"])],
                 "Moonblade", EN_LORE, EN_FACT_LINES)


@pytest.fixture(scope="session")
def count_tokens(tiny_model_dir):
    """Exact token counts under the tiny model's real tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
