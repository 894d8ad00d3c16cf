"""Exports (md/txt/epub, safe names inside the export folder) and manuscript import through the Studio."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.studio import InvalidInput, Studio
from studio_helpers import new_project

CHAPTERS = [("夜雨", "雨夜，林凡站在山门前。\n\n老人抬头看他。"), ("", "第二天，山上起了雾。"), ("问剑", "剑光如水。")]


def _book(studio: Studio):
    project = new_project(studio, title="青云志")
    for title, text in CHAPTERS:
        chapter = studio.chapters.add_chapter(project.id, title=title)
        studio.chapters.save_chapter(chapter.id, text, base_version=0)
    return project


def test_markdown_export_has_title_synopsis_toc_and_every_chapter(studio: Studio, options):
    project = _book(studio)
    path = studio.exchange.export_book(project.id, "md")
    assert path.parent == options.export_dir.resolve() and path.name == "青云志.md"
    text = path.read_text("utf-8")
    assert text.startswith("# 青云志\n")
    assert "## 简介\n\n少年入山门，修仙问道。" in text and "## 目录" in text
    headings = re.findall(r"(?m)^## (第.*)$", text)
    assert headings == ["第1章 夜雨", "第2章", "第3章 问剑"]
    for _, body in CHAPTERS:
        assert body in text
    bare = studio.exchange.export_book(project.id, "md", include_toc=False, include_synopsis=False)
    assert bare != path and "## 目录" not in bare.read_text("utf-8") and "简介" not in bare.read_text("utf-8")


def test_text_and_epub_exports_carry_every_chapter(studio: Studio):
    from ebooklib import ITEM_DOCUMENT, epub

    project = _book(studio)
    plain = studio.exchange.export_book(project.id, "txt").read_text("utf-8")
    assert all(body in plain for _, body in CHAPTERS) and plain.index("第1章") < plain.index("第3章")
    book = epub.read_epub(str(studio.exchange.export_book(project.id, "epub")))
    assert book.get_metadata("DC", "title")[0][0] == "青云志"
    pages = [item for item in book.get_items_of_type(ITEM_DOCUMENT) if item.file_name.startswith("chapter_")]
    assert len(pages) == len(CHAPTERS)
    for page, (_, body) in zip(sorted(pages, key=lambda p: p.file_name), CHAPTERS):
        html = page.get_content().decode("utf-8")
        assert all(paragraph in html for paragraph in body.split("\n\n"))


def test_chapter_export(studio: Studio):
    project = _book(studio)
    chapter = studio.chapters.list_chapters(project.id)[2]
    path = studio.exchange.export_chapter(chapter.id, "md")
    assert path.name == "青云志 第3章 问剑.md"
    text = path.read_text("utf-8")
    assert "## 第3章 问剑" in text and "剑光如水。" in text and "夜雨" not in text


HOSTILE = ["../../etc/passwd", "CON", "", "   ", "x" * 300, "龙🐉之书", "a/b\\c:d*e?f\"g<h>i|j", "..", "nul.txt",
           "line\nbreak\x00nul", "\u202eevil", "/abs/path", "C:\\Windows\\system32"]


def _assert_safe(path: Path, root: Path) -> None:
    stem = path.stem
    assert path.parent == root and stem and stem == stem.strip()
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    assert not re.search(r"[\x00-\x1f<>:\"|?*\u202e]", stem)
    assert stem.split(".")[0].strip().upper() not in {"CON", "PRN", "AUX", "NUL"}
    assert len(path.name.encode("utf-8")) <= 130


@pytest.mark.parametrize("title", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_titles_give_safe_names_inside_the_export_folder(tmp_path: Path, title):
    from app.interchange.exports import export_path

    root = (tmp_path / "exports").resolve()
    path = export_path(root, title, "md")
    _assert_safe(path, root)
    if title == "龙🐉之书":
        assert path.stem == "龙🐉之书"  # CJK and emoji are kept
    if not title.strip():
        assert path.stem == "untitled"


@pytest.mark.parametrize("title", [t for t in HOSTILE if t.strip() and "\x00" not in t], ids=lambda t: str(len(t)))
def test_studio_exports_of_hostile_titles_stay_in_the_export_folder(studio: Studio, options, title):
    project = studio.library.create_project(title, language="en")
    studio.chapters.add_chapter(project.id, title=title)
    book = studio.exchange.export_book(project.id, "epub")
    chapter = studio.exchange.export_chapter(studio.chapters.list_chapters(project.id)[0].id, "txt")
    root = options.export_dir.resolve()
    for path in (book, chapter):
        _assert_safe(path, root)
        assert path.is_file()
    assert sorted(p.name for p in root.iterdir()) == sorted([book.name, chapter.name])  # nothing else written


def test_unknown_format_is_refused(studio: Studio):
    project = _book(studio)
    with pytest.raises(InvalidInput):
        studio.exchange.export_book(project.id, "pdf")


ZH_MANUSCRIPT = "序\n\n这是前言。\n\n第一章 夜雨\n雨夜，林凡站在山门前。\n\n第2章 问剑\n剑光如水。\n第三章里，他说这一句不是标题。\n"
EN_MANUSCRIPT = "# The Book\n\n## Chapter 1: Rain\nIt rained.\n\n## Chapter 2\nThe fog rose.\n### A scene break\nStill chapter two.\n"


def test_manuscript_import_splits_chinese_and_english_headings(studio: Studio, store):
    project = new_project(studio)
    created = studio.exchange.import_manuscript(project.id, "book.txt", ZH_MANUSCRIPT.encode("utf-8"))
    assert [(c.title, c.text) for c in created] == [
        ("", "序\n\n这是前言。"),
        ("第一章 夜雨", "雨夜，林凡站在山门前。"),
        ("第2章 问剑", "剑光如水。\n第三章里，他说这一句不是标题。"),
    ]
    assert [c.ordinal for c in studio.chapters.list_chapters(project.id)] == [1, 2, 3]
    assert all(studio.chapters.list_revisions(c.id)[0].source == "import" for c in created)
    english = studio.library.create_project("English", language="en")
    created = studio.exchange.import_manuscript(english.id, "book.md", EN_MANUSCRIPT.encode("utf-8"))
    assert [(c.title, c.text) for c in created] == [
        ("Chapter 1: Rain", "It rained."),
        ("Chapter 2", "The fog rose.\n### A scene break\nStill chapter two."),
    ]


def test_export_then_import_round_trips_the_chapters(studio: Studio):
    project = _book(studio)
    exported = studio.exchange.export_book(project.id, "md")
    copy = new_project(studio, title="副本")
    created = studio.exchange.import_manuscript(copy.id, exported.name, exported.read_bytes())
    assert [c.text for c in created] == [body for _, body in CHAPTERS]  # no 简介/目录 chapters
    assert all(c.title.startswith("第") for c in created)


def test_export_then_import_of_an_english_book_gives_only_its_chapters(studio: Studio):
    project = studio.library.create_project("Rain", language="en", synopsis="A boy climbs a mountain.")
    for title, body in (("Night Rain", "It rained."), ("Fog", "The fog rose.")):
        chapter = studio.chapters.add_chapter(project.id, title=title)
        studio.chapters.save_chapter(chapter.id, body, base_version=0)
    exported = studio.exchange.export_book(project.id, "md")
    copy = studio.library.create_project("Copy", language="en")
    created = studio.exchange.import_manuscript(copy.id, exported.name, exported.read_bytes())
    assert [(c.title, c.text) for c in created] == [("Chapter 1: Night Rain", "It rained."), ("Chapter 2: Fog", "The fog rose.")]


@pytest.mark.parametrize("name, data, problem, in_chinese", [
    ("bad.txt", "第一章\n好".encode("utf-8") + b"\xff\xfe\xfa", "not valid UTF-8", "无法识别文本编码"),
    ("huge.txt", b"a" * (20 * 1024 * 1024 + 1), "import limit", "MB 的导入上限"),
    ("empty.md", b"  \n\n", "empty", "文件是空的"),
    ("novel.docx", b"PK\x03\x04", "only Markdown", "只能导入 Markdown"),
    ("nul.txt", b"abc\x00def", "NUL", "二进制文件"),
], ids=["invalid-utf8", "huge", "empty", "docx", "nul"])
def test_bad_manuscripts_import_nothing(studio: Studio, name, data, problem, in_chinese):
    project = new_project(studio)
    studio.chapters.add_chapter(project.id, title="已有")
    with pytest.raises(InvalidInput, match=problem) as refused:
        studio.exchange.import_manuscript(project.id, name, data)
    assert in_chinese in refused.value.render("zh")  # the page shows the refusal in the writer's language
    with pytest.raises(InvalidInput, match=problem):  # the preview refuses it the same way
        studio.exchange.preview_manuscript(name, data)
    assert [c.title for c in studio.chapters.list_chapters(project.id)] == ["已有"]


def _card_entry_titles(path: Path) -> list[str]:
    import json

    book = json.loads(path.read_text(encoding="utf-8"))["data"].get("character_book") or {"entries": []}
    return sorted(e["comment"] for e in book["entries"])


def test_lore_the_writer_links_to_a_character_travels_with_its_card_only(studio: Studio, store):
    project = new_project(studio)
    hero = studio.library.create_character(project.id, "林远")
    rival = studio.library.create_character(project.id, "萧长风")
    sword = studio.library.create_lore_entry(project.id, linked_characters=[hero.id], title="青冥剑", keys=["青冥剑"],
                                             content="林远的佩剑。", extensions={"st_unknown": 7})
    studio.library.create_lore_entry(project.id, title="青云门", keys=["青云门"], content="修真大派。")
    assert studio.library.linked_characters(sword) == [hero.id]
    assert store.get_lore_entry(sword.id).extensions["st_unknown"] == 7  # other extension keys are kept
    assert _card_entry_titles(studio.exchange.export_character_card(hero.id, "json")) == ["青冥剑"]
    assert _card_entry_titles(studio.exchange.export_character_card(rival.id, "json")) == []

    moved = studio.library.update_lore_entry(sword.id, base_version=sword.version, linked_characters=[rival.id])
    assert studio.library.linked_characters(moved) == [rival.id] and moved.extensions["st_unknown"] == 7
    assert _card_entry_titles(studio.exchange.export_character_card(hero.id, "json")) == []
    assert _card_entry_titles(studio.exchange.export_character_card(rival.id, "json")) == ["青冥剑"]
    studio.library.delete_character(rival.id)
    assert studio.library.linked_characters(store.get_lore_entry(sword.id)) == []  # a trashed character is not shown


def test_linking_lore_to_another_books_character_is_refused_and_nothing_changes(studio: Studio, store):
    project, other = new_project(studio), new_project(studio)
    stranger = studio.library.create_character(other.id, "外人")
    entry = studio.library.create_lore_entry(project.id, title="山门", keys=["山门"], content="石阶。")
    with pytest.raises(InvalidInput) as refused:
        studio.library.update_lore_entry(entry.id, base_version=entry.version, linked_characters=[stranger.id])
    assert refused.value.message.code == "library.unknown_linked_character"
    assert store.get_lore_entry(entry.id).version == entry.version
    with pytest.raises(InvalidInput):
        studio.library.create_lore_entry(project.id, linked_characters=[stranger.id], title="x", keys=["x"])
    assert len(studio.library.list_lore(project.id)) == 1


BAD_IMPORTS = [
    ("card", "角色.json", b"", "文件是空的"),
    ("card", "角色.json", b'{"spec": "chara_card_v2", "data": {"name": 5}}', "“name”应为文本，实际是数字"),
    ("card", "角色.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "无法读取这张 PNG 图片"),
    ("card", "角色.json", '{"spec": "chara_card_v2", "data": {"name": "甲", "character_book": {"entries": [3]}}}'.encode(),
     "角色卡自带设定第 1 条：应为对象"),
    ("lorebook", "设定.json", b'{"entries": [{"key": [], "content": "", "order": "high"}]}', "第 1 条：“order”应为数字"),
    ("lorebook", "设定.json", b'{"entries": ', "不是有效的 JSON（第 1 行第 13 列"),
    ("lorebook", "设定.json", b'{"name": "x"}', "找不到“entries”"),
]


@pytest.mark.parametrize("kind, name, data, in_chinese", BAD_IMPORTS, ids=[
    "empty-card", "name-a-number", "damaged-png", "book-entry-not-object", "order-not-number", "bad-json", "no-entries"])
def test_bad_cards_and_lorebooks_are_refused_in_the_writers_language(studio: Studio, kind, name, data, in_chinese):
    project = new_project(studio)
    importer = studio.exchange.import_character_card if kind == "card" else studio.exchange.import_lorebook
    with pytest.raises(InvalidInput) as refused:
        importer(project.id, name, data)
    shown = refused.value.render("zh")
    assert name in shown and in_chinese in shown, shown
    assert not re.search(r"must be|expected|not valid|entry \d", shown)  # no English left in the Chinese text
    assert studio.library.list_characters(project.id) == [] and studio.library.list_lore(project.id) == []
