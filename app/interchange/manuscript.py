"""Manuscript import: a .md / .txt file's bytes → chapters split at chapter headings.

Owns decoding and splitting only (the studio stores the result). Recognised headings, each on a line
of its own: "第一章 …" / "第1章 …" / "第十二回 …", "序章", "楔子", "尾声", "Chapter 1 …" / "CHAPTER IV",
"Prologue", "Epilogue", and Markdown "# …" headings. Invariants:
- the whole file is checked (size, UTF-8, chapter count and size) before anything is returned, so a
  bad file imports nothing;
- no prose is dropped: text before the first heading becomes its own untitled chapter; a Markdown
  book title (a single top-level heading above repeated chapter headings) names nothing and is not
  carried into a chapter, nor is the front matter Inkstone's own exports put before the first chapter
  (a "Synopsis"/"Contents" or "简介"/"目录" Markdown section), so re-importing an export gives its chapters;
- a heading-like line that reads as prose ("Chapter two of her life began that day, she thought.",
  "第三章里，他说……") stays in the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from app.interchange.exports import FRONT_MATTER_HEADINGS

MAX_MANUSCRIPT_BYTES = 20 * 1024 * 1024
MAX_CHAPTERS = 5000
MAX_CHAPTER_CHARS = 5_000_000
ACCEPTED_SUFFIXES = (".md", ".markdown", ".txt", ".text")
_MAX_HEADING_CHARS = 80

_CJK_NUMERAL = "0-9０-９零〇一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟"
_CHINESE_HEADING = re.compile(
    rf"^(?:第\s*[{_CJK_NUMERAL}]+\s*[章回节](?P<rest>.*)|(?:序章|楔子|引子|序言|尾声|后记|番外)(?:[\s:：、—-].*|[{_CJK_NUMERAL}]+.*)?)$"
)
_SENTENCE_PUNCTUATION = re.compile(r"[。，！？；,!?;“”\"]")
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
)
_ENGLISH_HEADING = re.compile(
    rf"^(?:chapter\s+(?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[\s-](?:{_NUMBER_WORDS}))*)\b|prologue|epilogue)"
    r"(?P<rest>\s*[:.\-—]\s*.*|\s+.*)?$",
    re.IGNORECASE,
)
_TITLE_SEPARATOR = re.compile(r"^\s*[:.\-—]")
_ENGLISH_PROSE = re.compile(r"[,;!?\"“”]|\.\s*$")
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class ManuscriptError(ValueError):
    """The manuscript cannot be imported; the message names the file and the problem."""


@dataclass(frozen=True)
class ImportedChapter:
    title: str
    text: str


def parse_manuscript(filename: str, data: bytes) -> list[ImportedChapter]:
    """Decode and split a manuscript; raises ManuscriptError (and returns nothing) on any problem."""
    name = PurePath(filename or "manuscript.txt").name
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise ManuscriptError(f"{name}: only Markdown (.md) and plain text (.txt) manuscripts can be imported.")
    if len(data) > MAX_MANUSCRIPT_BYTES:
        raise ManuscriptError(
            f"{name}: the file is {len(data) / 1024 / 1024:.1f} MB; the import limit is "
            f"{MAX_MANUSCRIPT_BYTES // 1024 // 1024} MB. Split it into volumes and import them one by one."
        )
    text = decode_utf8(name, data)
    chapters = split_chapters(text, fallback_title=PurePath(name).stem)
    _check_limits(name, chapters)
    return chapters


def decode_utf8(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManuscriptError(
            f"{name}: the file is not valid UTF-8 (bad byte at position {exc.start}, line {line}). "
            "Save it as UTF-8 (for example from a GBK text file) and import it again."
        ) from None
    if "\x00" in text:
        raise ManuscriptError(f"{name}: the file contains NUL bytes; it looks like a binary file, not a manuscript.")
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def split_chapters(text: str, fallback_title: str = "") -> list[ImportedChapter]:
    """Split at chapter headings; a text without headings becomes one chapter named `fallback_title`."""
    lines = text.split("\n")
    chapter_level, title_line = _markdown_levels(lines)
    chapters: list[ImportedChapter] = []
    title: str | None = None
    body: list[str] = []
    in_front_matter = False  # inside an export's Synopsis/Contents section, before any chapter
    for index, line in enumerate(lines):
        if index == title_line:
            continue
        heading = _heading_title(line, chapter_level)
        if heading is None:
            if not in_front_matter:
                body.append(line)
            continue
        _close_chapter(chapters, title, body)
        in_front_matter = not chapters and title is None and _is_front_matter(line, chapter_level)
        title, body = (None if in_front_matter else heading), []
    _close_chapter(chapters, title, body)
    if len(chapters) == 1 and not chapters[0].title:
        return [ImportedChapter(title=fallback_title, text=chapters[0].text)]
    return chapters


def _is_front_matter(line: str, chapter_level: int | None) -> bool:
    markdown = _MARKDOWN_HEADING.match(line.strip())
    return bool(markdown) and len(markdown.group(1)) == chapter_level and markdown.group(2) in FRONT_MATTER_HEADINGS


def _close_chapter(chapters: list[ImportedChapter], title: str | None, body: list[str]) -> None:
    text = "\n".join(body).strip("\n")
    if title is None and not text.strip():
        return  # nothing before the first heading
    chapters.append(ImportedChapter(title=title or "", text=text))


def _heading_title(line: str, chapter_level: int | None) -> str | None:
    """The chapter title if `line` is a chapter heading, else None."""
    stripped = line.strip()
    if not stripped or len(stripped) > _MAX_HEADING_CHARS:
        return None
    markdown = _MARKDOWN_HEADING.match(stripped)
    if markdown:
        level = len(markdown.group(1))
        inner = markdown.group(2).strip()
        if level == chapter_level or _is_named_heading(inner):
            return inner
        return None
    return stripped if _is_named_heading(stripped) else None


def _is_named_heading(text: str) -> bool:
    chinese = _CHINESE_HEADING.match(text)
    if chinese:  # "第一章 夜雨" or "第一章夜雨", but not the prose line "第三章里，他说……"
        return not _SENTENCE_PUNCTUATION.search(chinese.group("rest") or "")
    english = _ENGLISH_HEADING.match(text)
    if not english:
        return False
    rest = english.group("rest") or ""
    if not rest.strip() or _TITLE_SEPARATOR.match(rest):  # "Chapter 2", "Chapter 2: The Gate"
        return True
    # "Chapter 3 The Gate" is a heading; "Chapter two of her life began that day, she thought." is not.
    return not rest.strip()[0].islower() and not _ENGLISH_PROSE.search(rest)


def _markdown_levels(lines: list[str]) -> tuple[int | None, int | None]:
    """(level that marks chapters, index of a book-title line to skip).

    The chapter level is the shallowest Markdown heading level used more than once; a single heading
    above that level, before the first chapter heading, is the book's title.
    """
    levels: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        match = _MARKDOWN_HEADING.match(line.strip())
        if match and len(line.strip()) <= _MAX_HEADING_CHARS:
            levels.append((index, len(match.group(1))))
    if not levels:
        return None, None
    counts: dict[int, int] = {}
    for _, level in levels:
        counts[level] = counts.get(level, 0) + 1
    repeated = sorted(level for level, count in counts.items() if count > 1)
    chapter_level = repeated[0] if repeated else min(counts)
    above = [(i, lvl) for i, lvl in levels if lvl < chapter_level]
    first_chapter = min(i for i, lvl in levels if lvl == chapter_level)
    if len(above) == 1 and above[0][0] < first_chapter:
        return chapter_level, above[0][0]
    return chapter_level, None


def _check_limits(name: str, chapters: list[ImportedChapter]) -> None:
    if not chapters or not any(c.text.strip() or c.title.strip() for c in chapters):
        raise ManuscriptError(f"{name}: the file is empty; there is nothing to import.")
    if len(chapters) > MAX_CHAPTERS:
        raise ManuscriptError(f"{name}: {len(chapters)} chapters found; at most {MAX_CHAPTERS} can be imported at once.")
    for chapter in chapters:
        if len(chapter.text) > MAX_CHAPTER_CHARS:
            raise ManuscriptError(
                f"{name}: chapter {chapter.title or '(untitled)'!r} has {len(chapter.text):,} characters; "
                f"a chapter may hold at most {MAX_CHAPTER_CHARS:,}. Add chapter headings and import again."
            )
