"""The manuscript splitter and the export writers as plain functions (no store, no model)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.interchange.exports import Book, ChapterText, chapter_heading, render_markdown, safe_file_stem
from app.interchange.manuscript import ManuscriptError, parse_manuscript, split_chapters


@pytest.mark.parametrize("heading, is_heading", [
    ("第一章 夜雨", True), ("第一章夜雨", True), ("第1章", True), ("第十二回 风起", True), ("第 3 章：问剑", True),
    ("序章", True), ("楔子 风起", True), ("番外一 春", True), ("Chapter 1", True), ("CHAPTER IV", True),
    ("Chapter Twenty-One: Ash", True), ("Prologue", True), ("Epilogue: After", True),
    ("第三章里，他说。", False), ("第一次见面", False), ("后记得他说", False), ("Chapter and verse were quoted.", False),
    ("He read chapter 3 twice.", False), ("Chapter two of her life began that day, she thought.", False),
    ("Chapter 3 The Gate", True), ("Chapter 3 was the hardest to write.", False),
])
def test_heading_recognition(heading: str, is_heading: bool):
    chapters = split_chapters(f"前文。\n{heading}\n正文。", fallback_title="书")
    titles = [c.title for c in chapters]
    assert (heading in titles) is is_heading


def test_markdown_book_title_is_dropped_and_deeper_headings_stay_in_the_text():
    text = "# 书名\n\n## 第一章 开始\n正文一\n### 小节\n正文二\n## 第二章\n正文三\n"
    assert [(c.title, c.text) for c in split_chapters(text)] == [
        ("第一章 开始", "正文一\n### 小节\n正文二"), ("第二章", "正文三")]


def test_plain_markdown_headings_split_and_no_headings_gives_one_chapter():
    assert [c.title for c in split_chapters("# One\na\n# Two\nb")] == ["One", "Two"]
    (only,) = parse_manuscript("我的小说.txt", "只有一段正文。".encode("utf-8"))
    assert (only.title, only.text) == ("我的小说", "只有一段正文。")


def test_crlf_and_bom_are_normalised():
    data = "\ufeff第一章 开始\r\n正文。\r\n第二章\r\n更多。".encode("utf-8")
    assert [(c.title, c.text) for c in parse_manuscript("a.txt", data)] == [("第一章 开始", "正文。"), ("第二章", "更多。")]


def test_invalid_utf8_names_the_line():
    with pytest.raises(ManuscriptError, match="line 2"):
        parse_manuscript("a.md", b"ok\n\xc3\x28 broken")


def test_markdown_render_escapes_heading_like_prose_and_headings_are_localised():
    book = Book("T", "en", "", (ChapterText(chapter_heading("en", 1, "Rain"), "# not a heading\ntext"),))
    rendered = render_markdown(book)
    assert "## Chapter 1: Rain" in rendered and "\\# not a heading" in rendered
    assert chapter_heading("zh", 2, "") == "第2章" and chapter_heading("zh", 3, "第三章 问剑") == "第三章 问剑"


def test_safe_file_stem_caps_bytes_without_splitting_characters():
    stem = safe_file_stem("龙" * 200)
    assert len(stem.encode("utf-8")) <= 120 and set(stem) == {"龙"}
    assert safe_file_stem("../../etc/passwd") == "etc passwd"
    assert safe_file_stem("CON") == "_CON" and safe_file_stem("") == "untitled"


_BODY_LINE = st.text(alphabet="林凡雨夜山门。，abc XYZ!?\t", min_size=1, max_size=30).filter(lambda line: line.strip())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="夜雨问剑风起", max_size=6),
                          st.lists(_BODY_LINE, min_size=1, max_size=4)), min_size=1, max_size=6))
def test_split_round_trips_generated_manuscripts(chapters):
    text = "\n".join(f"第{i}章 {title}".rstrip() + "\n" + "\n".join(lines)
                     for i, (title, lines) in enumerate(chapters, start=1))
    parsed = parse_manuscript("gen.txt", text.encode("utf-8"))
    assert [(c.title, c.text) for c in parsed] == [
        (f"第{i}章 {title}".rstrip(), "\n".join(lines).strip("\n")) for i, (title, lines) in enumerate(chapters, start=1)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_chapters_or_a_clear_error(data):
    try:
        chapters = parse_manuscript("x.md", data)
    except ManuscriptError as exc:
        assert str(exc).startswith("x.md: ")
    else:
        assert chapters and all(isinstance(c.text, str) for c in chapters)
