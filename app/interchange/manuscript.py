"""Manuscript import: a .md / .txt file's bytes → chapters split at chapter headings.

Owns splitting (decoding: app.interchange.decoding; Gutenberg and tables of contents:
app.interchange.front_matter; the studio stores the result). Recognised headings, each on a line of
its own: "第一章 …" / "第1章 …" / "第１２章" / "第十二回 …" / "第一○回" (○ and 〇 as zero), "序章",
"楔子", "尾声", "Chapter 1 …" / "CHAPTER IV", "Prologue", "Epilogue", and Markdown "# …" headings.
Invariants:
- the whole file is checked (size, encoding, chapter count and size) before anything is returned, so
  a bad file imports nothing; `preview_manuscript` returns the split (with the encoding used and what
  was skipped) for the writer to confirm, `parse_manuscript` just its chapters;
- a Project Gutenberg header and licence, a Gutenberg title page without prose, and a table of
  contents are skipped (and listed in the preview), never made chapters;
- no prose is dropped: text before the first heading becomes its own untitled chapter; a Markdown
  book title (a single top-level heading above repeated chapter headings) names nothing and is not
  carried into a chapter, nor is the front matter Inkstone's own exports put before the first chapter
  (a "Synopsis"/"Contents" or "简介"/"目录" Markdown section), so re-importing an export gives its chapters;
- a heading-like line that reads as prose ("Chapter two of her life began that day, she thought.",
  "第三章里，他说……") stays in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from app.interchange.decoding import UndetectedEncoding, decode_text
from app.interchange.exports import FRONT_MATTER_HEADINGS
from app.interchange.front_matter import Skipped, gutenberg_like, has_prose, strip_gutenberg, toc_lines

MAX_MANUSCRIPT_BYTES = 20 * 1024 * 1024
MAX_CHAPTERS = 5000
MAX_CHAPTER_CHARS = 5_000_000
ACCEPTED_SUFFIXES = (".md", ".markdown", ".txt", ".text")
_MAX_HEADING_CHARS = 80

_CJK_NUMERAL = "0-9０-９零〇○一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟"
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
    """The manuscript cannot be imported; the message names the file and the problem.

    `code` names the problem for translation ("manuscript.encoding_unknown", ...); `values` fill it."""

    def __init__(self, message: str, code: str = "manuscript.invalid", **values: object):
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class ImportedChapter:
    title: str
    text: str


@dataclass(frozen=True)
class ManuscriptSplit:
    """How a file would be imported, for the writer to confirm before anything is stored."""

    filename: str
    encoding: str  # "UTF-8", "UTF-16", "GB18030", ...
    chapters: tuple[ImportedChapter, ...]
    skipped: tuple[Skipped, ...]  # Gutenberg header/licence, table of contents, title page


def parse_manuscript(filename: str, data: bytes) -> list[ImportedChapter]:
    """Decode and split a manuscript; raises ManuscriptError (and returns nothing) on any problem."""
    return list(preview_manuscript(filename, data).chapters)


def preview_manuscript(filename: str, data: bytes) -> ManuscriptSplit:
    """Decode and split a manuscript (see the module docstring); raises ManuscriptError on any problem."""
    name = PurePath(filename or "manuscript.txt").name
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise ManuscriptError(f"{name}: only Markdown (.md) and plain text (.txt) manuscripts can be imported.",
                              "manuscript.bad_suffix", filename=name)
    if len(data) > MAX_MANUSCRIPT_BYTES:
        raise ManuscriptError(
            f"{name}: the file is {len(data) / 1024 / 1024:.1f} MB; the import limit is "
            f"{MAX_MANUSCRIPT_BYTES // 1024 // 1024} MB. Split it into volumes and import them one by one.",
            "manuscript.too_large", filename=name, limit_mb=MAX_MANUSCRIPT_BYTES // 1024 // 1024)
    text, encoding = _decode(name, bytes(data))
    book, skipped = strip_gutenberg(text)
    chapters, more = split_with_front_matter(book, PurePath(name).stem, gutenberg_like(book, bool(skipped)))
    _check_limits(name, chapters)
    return ManuscriptSplit(name, encoding, tuple(chapters), tuple(skipped + more))


def _decode(name: str, data: bytes) -> tuple[str, str]:
    try:
        decoded = decode_text(data)
    except UndetectedEncoding as exc:
        raise ManuscriptError(
            f"{name}: the text encoding could not be detected: the file is not valid UTF-8 (bad byte at position "
            f"{exc.position}, line {exc.line}), nor UTF-16, GB18030/GBK or Big5. Save it as UTF-8 and import it again.",
            "manuscript.encoding_unknown", filename=name, position=exc.position, line=exc.line) from None
    if "\x00" in decoded.text:
        raise ManuscriptError(f"{name}: the file contains NUL bytes; it looks like a binary file, not a manuscript.",
                              "manuscript.binary", filename=name)
    return decoded.text, decoded.encoding


def split_with_front_matter(text: str, fallback_title: str = "", gutenberg: bool = False
                            ) -> tuple[list[ImportedChapter], list[Skipped]]:
    """Chapters of `text` without its tables of contents (nor, for a Gutenberg book, a title page with
    no prose before the first chapter), plus what was skipped."""
    lines = text.split("\n")
    chapter_level, _ = _markdown_levels(lines)
    toc = toc_lines(lines, lambda line: _heading_title(line, chapter_level))
    skipped = []
    if toc:
        removed = [lines[i] for i in sorted(toc)]
        skipped.append(Skipped("table_of_contents", sum(len(x) + 1 for x in removed), removed[0].strip()[:120]))
        lines = [line for i, line in enumerate(lines) if i not in toc]
    chapters = split_chapters("\n".join(lines), fallback_title)
    if gutenberg and len(chapters) > 1 and not chapters[0].title and not has_prose(chapters[0].text):
        skipped.append(Skipped("front_matter", len(chapters[0].text), chapters[0].text.strip().split("\n")[0][:120]))
        chapters = chapters[1:]
    return chapters, skipped


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
    return markdown is not None and len(markdown.group(1)) == chapter_level and markdown.group(2) in FRONT_MATTER_HEADINGS


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
        raise ManuscriptError(f"{name}: the file is empty; there is nothing to import.", "manuscript.empty",
                              filename=name)
    if len(chapters) > MAX_CHAPTERS:
        raise ManuscriptError(f"{name}: {len(chapters)} chapters found; at most {MAX_CHAPTERS} can be imported at once.",
                              "manuscript.too_many_chapters", filename=name, count=len(chapters), limit=MAX_CHAPTERS)
    for chapter in chapters:
        if len(chapter.text) > MAX_CHAPTER_CHARS:
            raise ManuscriptError(
                f"{name}: chapter {chapter.title or '(untitled)'!r} has {len(chapter.text):,} characters; "
                f"a chapter may hold at most {MAX_CHAPTER_CHARS:,}. Add chapter headings and import again.",
                "manuscript.chapter_too_long", filename=name, title=chapter.title, chars=len(chapter.text),
                limit=MAX_CHAPTER_CHARS)
