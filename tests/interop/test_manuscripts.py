"""Manuscripts as writers have them: Project Gutenberg books, tables of contents, GBK/UTF-16 files,
Chinese headings with ○ and full-width digits; the split is previewed before anything is stored."""

from __future__ import annotations

import pytest

from app.interchange.manuscript import ManuscriptError, parse_manuscript, preview_manuscript

PARAGRAPH = ("It was a long paragraph of real prose, the kind a reader settles into, running on past the "
             "margin with commas, clauses and the patient weight of a sentence that knows where it goes; ") * 3
LICENCE = ("*** END OF THE PROJECT GUTENBERG EBOOK MOBY-DICK; OR THE WHALE ***\n\n"
           "Updated editions will replace the previous one--the old editions will be renamed.\n\n"
           "START: FULL LICENSE\n\nTHE FULL PROJECT GUTENBERG LICENSE\n\n" + "Project Gutenberg licence terms. " * 40)
HEADER = ("The Project Gutenberg eBook of Moby-Dick; or The Whale, by Herman Melville\n\n"
          "This eBook is for the use of anyone anywhere in the United States and most other parts of the world.\n\n"
          "Title: Moby-Dick; or The Whale\n\nAuthor: Herman Melville\n\nLanguage: English\n\n"
          "*** START OF THE PROJECT GUTENBERG EBOOK MOBY-DICK; OR THE WHALE ***\n\n")
TITLES = ["CHAPTER 1. Loomings.", "CHAPTER 2. The Carpet-Bag.", "CHAPTER 3. The Spouter-Inn.", "Epilogue"]


def moby_dick(chapters: int = 3) -> str:
    titles = [f"CHAPTER {n}. Title number {n}." for n in range(1, chapters + 1)] + ["Epilogue"]
    if chapters == 3:
        titles = TITLES
    contents = "\n\n".join(f"  {t}" for t in ["ETYMOLOGY.", "EXTRACTS (Supplied by a Sub-Sub-Librarian).", *titles])
    body = "\n\n".join(f"{t}\n\n{PARAGRAPH}\n\n{PARAGRAPH}" for t in titles)
    return (HEADER + "Produced by Daniel Lazarus and Jonesey\n\n\n\nMOBY-DICK;\n\nor, THE WHALE.\n\n"
            "By Herman Melville\n\n\n\nCONTENTS\n\n" + contents + "\n\n\n\n\nETYMOLOGY.\n\n" + PARAGRAPH
            + "\n\n" + body + "\n\n\n\n" + LICENCE)


def test_gutenberg_header_licence_and_contents_are_not_chapters():
    split = preview_manuscript("moby-dick.txt", moby_dick().encode("utf-8"))
    titles = [c.title for c in split.chapters]
    assert titles == ["", *TITLES], titles
    front, *_, last = split.chapters
    assert "ETYMOLOGY.\n\nIt was" in front.text and "CONTENTS" not in front.text and "EXTRACTS" not in front.text
    assert "Gutenberg" not in last.text and "licence" not in last.text
    assert all(c.text.strip() for c in split.chapters)
    kinds = [s.kind for s in split.skipped]
    assert kinds == ["gutenberg_header", "gutenberg_licence", "table_of_contents"]
    assert split.encoding == "UTF-8"


def test_a_long_table_of_contents_makes_no_empty_chapters():
    chapters = parse_manuscript("moby-dick.txt", moby_dick(135).encode("utf-8"))
    assert len(chapters) == 137 and all(c.text.strip() for c in chapters)  # etymology + 135 + epilogue


def test_a_gutenberg_title_page_without_prose_is_skipped():
    text = (HEADER.replace("MOBY-DICK; OR THE WHALE", "PRIDE AND PREJUDICE") + "Produced by Anonymous Volunteers\n\n\n"
            "PRIDE AND PREJUDICE\n\nBy Jane Austen\n\n\n\nChapter 1\n\n" + PARAGRAPH + "\n\nChapter 2\n\n" + PARAGRAPH
            + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***\n\nLicence.")
    split = preview_manuscript("pride.txt", text.encode("utf-8"))
    assert [c.title for c in split.chapters] == ["Chapter 1", "Chapter 2"]
    assert "front_matter" in [s.kind for s in split.skipped]


def test_a_gutenberg_text_whose_header_was_removed_loses_its_title_page_too():
    text = "Produced by Anonymous Volunteers\n\n\nPRIDE AND PREJUDICE\n\nBy Jane Austen\n\n\n\nChapter 1\n\n" + PARAGRAPH
    assert [c.title for c in parse_manuscript("pride.txt", (text + "\n\nChapter 2\n\n" + PARAGRAPH).encode())] == [
        "Chapter 1", "Chapter 2"]


def test_chinese_table_of_contents_is_skipped():
    text = "目录\n第一章 山门\n第二章 问剑\n第三章 下山\n\n第一章 山门\n正文一。\n第二章 问剑\n正文二。\n第三章 下山\n正文三。\n"
    chapters = parse_manuscript("书.txt", text.encode("utf-8"))
    assert [(c.title, c.text) for c in chapters] == [("第一章 山门", "正文一。"), ("第二章 问剑", "正文二。"),
                                                     ("第三章 下山", "正文三。")]


def test_headings_without_bodies_that_never_recur_are_still_chapters():
    text = "第一章 甲\n\n第二章 乙\n\n第三章 丙\n\n第四章 丁\n正文。"
    assert [c.title for c in parse_manuscript("纲.txt", text.encode("utf-8"))] == [
        "第一章 甲", "第二章 乙", "第三章 丙", "第四章 丁"]


ZH_BOOK_TRADITIONAL = "第一章 山門\n沈硯秋立在青雲門前，雨落如絲。\n第二章 問劍\n“你來了。”他說。\n第三章 下山\n山下人聲鼎沸。\n"
ZH_BOOK = "第一章 山门\n沈砚秋立在青云门前，雨落如丝。\n第二章 问剑\n“你来了。”他说。\n第三章 下山\n山下人声鼎沸，酒旗招展。\n"


@pytest.mark.parametrize("codec, name", [("gbk", "GB18030"), ("gb18030", "GB18030"), ("utf-16", "UTF-16"),
                                         ("utf-16-be", "UTF-16"), ("utf-8-sig", "UTF-8"), ("big5", "Big5")])
def test_chinese_encodings_are_detected_and_named(codec, name):
    text = ZH_BOOK if codec != "big5" else ZH_BOOK_TRADITIONAL
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = "\ufeff".encode("utf-16-be") + data
    split = preview_manuscript("旧稿.txt", data)
    assert split.encoding == name
    assert len(split.chapters) == 3 and split.chapters[1].text == text.split("\n")[3]


def test_a_long_gbk_novel_is_detected():
    text = "".join(f"第{n}回 回目\n" + "宝玉听了，忙上来拉着黛玉的手，笑道：“好妹妹，你别恼。”\n" * 40 for n in range(1, 4))
    split = preview_manuscript("红楼.txt", text.encode("gbk"))
    assert split.encoding == "GB18030" and len(split.chapters) == 3


@pytest.mark.parametrize("data", [b"ok\n\xc3\x28 broken", "\u201cWindows quotes\u201d".encode("cp1252"),
                                  bytes(range(0x80, 0x100)) * 4])
def test_undetectable_encoding_has_its_own_message(data):
    with pytest.raises(ManuscriptError) as error:
        preview_manuscript("odd.txt", data)
    assert error.value.code == "manuscript.encoding_unknown" and "encoding could not be detected" in str(error.value)


@pytest.mark.parametrize("text, titles", [
    ("第一○回 甲\n正文一\n第二○回 乙\n正文二", ["第一○回 甲", "第二○回 乙"]),
    ("第一〇回 甲\n正文一\n第二〇回 乙\n正文二", ["第一〇回 甲", "第二〇回 乙"]),
    ("第１２章 甲\n正文\n第１３章 乙\n正文", ["第１２章 甲", "第１３章 乙"]),
])
def test_chinese_headings_with_circle_zero_and_full_width_digits(text, titles):
    assert [c.title for c in parse_manuscript("a.txt", text.encode("utf-8"))] == titles
