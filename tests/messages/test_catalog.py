"""The message catalogue: every key in every language with the same placeholders, every code the
code raises is in it, and messages render in the writer's language (nested reasons included)."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest

from messages import (CATALOG_DIR, LANGUAGES, CatalogError, CodedError, Message, as_message, catalog,
                      enum_message, placeholders, render)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for pkg in ("app", "story_store", "prompts", "messages") for p in (ROOT / pkg).rglob("*.py")]
# a literal code handed to a Message or an error class: Message("lore.budget_full", ...)
LITERAL_CODE = re.compile(r"""\b(?:Message|[A-Z]\w*(?:Error|Input|NotFound|NoModel|Conflict))\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")


def test_every_key_exists_in_every_language():
    keys = {language: set(catalog(language)) for language in LANGUAGES}
    for language in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(keys[other] - keys[language])
            assert not missing, f"keys in {other} but not in {language}: {missing}"


def test_every_file_exists_in_every_language():
    files = {language: sorted(p.name for p in (CATALOG_DIR / language).glob("*.json")) for language in LANGUAGES}
    assert len({tuple(names) for names in files.values()}) == 1, files


def test_placeholders_agree_and_no_text_is_empty():
    english = catalog("en")
    for language in LANGUAGES:
        texts = catalog(language)
        bad = [k for k, text in texts.items() if not text.strip() or placeholders(text) != placeholders(english[k])]
        assert bad == [], f"{language}: {bad}"


def test_a_key_in_one_language_only_is_caught(tmp_path, monkeypatch):
    """The check above is live: a catalogue where zh lacks a key fails it."""
    for language, entries in (("en", {"a.b": "x", "a.c": "y"}), ("zh", {"a.b": "甲"})):
        (tmp_path / language).mkdir()
        (tmp_path / language / "t.json").write_text(json.dumps(entries), encoding="utf-8")
    monkeypatch.setattr("messages.CATALOG_DIR", tmp_path)
    catalog.cache_clear()
    try:
        with pytest.raises(AssertionError, match="a.c"):
            test_every_key_exists_in_every_language()
    finally:
        catalog.cache_clear()


def test_a_key_defined_twice_is_refused(tmp_path, monkeypatch):
    (tmp_path / "en").mkdir()
    for name in ("one.json", "two.json"):
        (tmp_path / "en" / name).write_text('{"a.b": "x"}', encoding="utf-8")
    monkeypatch.setattr("messages.CATALOG_DIR", tmp_path)
    catalog.cache_clear()
    try:
        with pytest.raises(CatalogError, match="a.b"):
            catalog("en")
    finally:
        catalog.cache_clear()


def test_every_literal_code_in_the_source_is_in_the_catalogue():
    used = {code for path in SOURCES for code in LITERAL_CODE.findall(path.read_text("utf-8"))}
    assert len(used) > 40
    assert sorted(used - set(catalog("en"))) == []


def test_a_message_is_english_as_a_str_and_renders_in_chinese():
    inner = Message("lore.key_found", key="龙")
    outer = Message("lore.budget_full", reason=inner, budget=1921)
    assert outer == "key '龙' found; lore budget of 1921 tokens is full"
    assert "budget" in outer and outer.code == "lore.budget_full"
    assert render(outer, "zh") == "找到关键词“龙”；设定预算 1921 个词元已满"
    assert render("a name", "zh") == "a name"  # data passes through
    assert pickle.loads(pickle.dumps(outer)).render("zh") == render(outer, "zh")


def test_coded_errors_keep_the_code_and_free_text_passes_through():
    class Refused(CodedError, ValueError):
        pass

    coded = Refused("store.too_long", where=Message("store.where_text.chapter_text"), length=60_000_000, limit=5_000_000)
    assert str(coded) == "chapter text is too long: 60,000,000 characters (the limit is 5,000,000)"
    assert coded.render("zh") == "章节正文太长：60,000,000 个字符（上限 5,000,000）"
    free = Refused("Something went wrong.")
    assert str(free) == "Something went wrong." and free.render("zh") == "Something went wrong."
    assert as_message("no code here") == "no code here"


def test_enum_values_have_names_and_unknown_ones_show_as_themselves():
    assert render(enum_message("finish", "length"), "zh") == "达到长度上限"
    assert render(enum_message("logic", "and_any"), "zh") == "且任一"
    assert enum_message("finish", "warp-drive") == "warp-drive"


def test_store_validation_speaks_chinese():
    from story_store.errors import ValidationError
    from story_store.fields import check_choice

    with pytest.raises(ValidationError) as raised:
        check_choice("chapters", "status", "printed")
    assert raised.value.render("zh") == "章节的状态必须是以下之一：draft, final, outline, revised；收到的是 'printed'"
