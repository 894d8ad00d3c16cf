"""Book exports: Markdown, EPUB (ebooklib) and plain text, written under one export directory.

Owns the file formats and the safe naming of exported files. Invariants:
- a file is only ever written inside `export_dir` (names are sanitised, then the resolved path is
  checked), and it appears atomically (written to a temporary sibling, then renamed);
- an existing export is never overwritten: a clash gets a " (2)", " (3)", ... suffix;
- this module imports nothing of Inkstone's: the studio hands it plain `Book` data.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("md", "epub", "txt")
MAX_NAME_BYTES = 120  # UTF-8 bytes of the stem; common file systems allow 255 for the whole name
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_LABELS = {
    "zh": {"contents": "目录", "synopsis": "简介", "chapter": "第{n}章"},
    "en": {"contents": "Contents", "synopsis": "Synopsis", "chapter": "Chapter {n}"},
}

# Headings of the front matter an exported book carries before its chapters (not chapters on import).
FRONT_MATTER_HEADINGS = frozenset(labels[key] for labels in _LABELS.values() for key in ("contents", "synopsis"))


class ExportError(ValueError):
    """An export could not be written; the message says why."""


@dataclass(frozen=True)
class ChapterText:
    heading: str  # the chapter's heading as the reader sees it (never empty)
    text: str


@dataclass(frozen=True)
class Book:
    title: str
    language: str  # "zh" | "en"
    synopsis: str
    chapters: tuple[ChapterText, ...]
    author: str = ""
    identifier: str = ""  # stable id for EPUB readers; derived from the title when empty


def chapter_heading(language: str, ordinal: int, title: str) -> str:
    """'第3章 夜雨' / 'Chapter 3: Night Rain'; a title that already names the chapter is kept as is."""
    label = _labels(language)["chapter"].format(n=ordinal)
    title = title.strip()
    if not title:
        return label
    if title.startswith(("第", "Chapter", "CHAPTER", "chapter")):
        return title
    return f"{label} {title}" if language == "zh" else f"{label}: {title}"


def safe_file_stem(title: str, fallback: str = "untitled") -> str:
    """A file-name stem made from a title: no separators, control or reserved characters, no `..`,
    no Windows device names, CJK and other letters kept, at most MAX_NAME_BYTES UTF-8 bytes."""
    name = unicodedata.normalize("NFC", title)
    name = _UNSAFE_CHARS.sub("_", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r"[\s_]+", " ", name).strip(" ._-")
    name = _truncate_utf8(name, MAX_NAME_BYTES).strip(" ._-")
    if not name:
        name = fallback
    if name.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        name = f"_{name}"
    return name


def export_path(export_dir: Path, title: str, extension: str) -> Path:
    """A fresh path `export_dir/<safe title>.<extension>` that does not exist yet, inside export_dir."""
    if not re.fullmatch(r"[a-z0-9]{1,8}", extension):
        raise ExportError(f"Refusing the file extension {extension!r}.")
    root = Path(export_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(title)
    for attempt in range(1, 10_000):
        suffix = "" if attempt == 1 else f" ({attempt})"
        candidate = (root / f"{stem}{suffix}.{extension}").resolve()
        if candidate.parent != root:  # defence in depth: sanitising must already prevent this
            raise ExportError(f"Refusing to write outside the export folder: {title!r}")
        if not candidate.exists():
            return candidate
    raise ExportError(f"Too many exports named {stem!r}; clean up the export folder.")


def write_book(book: Book, fmt: str, export_dir: Path, *, include_toc: bool = True,
               include_synopsis: bool = True, file_title: str | None = None) -> Path:
    """Write `book` as Markdown, EPUB or plain text; returns the new file's path.

    The file is named from `file_title` (default: the book's title), made safe by `safe_file_stem`.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    path = export_path(export_dir, book.title if file_title is None else file_title, fmt)
    if fmt == "md":
        data = render_markdown(book, include_toc=include_toc, include_synopsis=include_synopsis).encode()
        _write_atomically(path, lambda tmp: tmp.write_bytes(data))
    elif fmt == "txt":
        data = render_plain_text(book, include_synopsis=include_synopsis).encode()
        _write_atomically(path, lambda tmp: tmp.write_bytes(data))
    else:
        _write_atomically(path, lambda tmp: _write_epub(book, tmp, include_synopsis=include_synopsis))
    return path


def write_file(export_dir: Path, title: str, extension: str, data: bytes) -> Path:
    """Write ready-made bytes (a character card, a lorebook) under a safe name; returns the path."""
    path = export_path(export_dir, title, extension)
    _write_atomically(path, lambda tmp: tmp.write_bytes(data))
    return path


def render_markdown(book: Book, *, include_toc: bool = True, include_synopsis: bool = True) -> str:
    labels = _labels(book.language)
    parts = [f"# {_one_line(book.title)}"]
    if include_synopsis and book.synopsis.strip():
        parts.append(f"## {labels['synopsis']}\n\n{_escape_markdown_block(book.synopsis.strip())}")
    if include_toc and book.chapters:
        lines = [f"- [{_one_line(c.heading)}](#{_markdown_anchor(c.heading)})" for c in book.chapters]
        parts.append(f"## {labels['contents']}\n\n" + "\n".join(lines))
    for chapter in book.chapters:
        body = _escape_markdown_block(chapter.text.strip())
        parts.append(f"## {_one_line(chapter.heading)}" + (f"\n\n{body}" if body else ""))
    return "\n\n".join(parts) + "\n"


def render_plain_text(book: Book, *, include_synopsis: bool = True) -> str:
    title = _one_line(book.title)
    parts = [f"{title}\n{'=' * max(4, len(title))}"]
    if include_synopsis and book.synopsis.strip():
        parts.append(book.synopsis.strip())
    for chapter in book.chapters:
        parts.append(f"{_one_line(chapter.heading)}\n\n{chapter.text.strip()}".rstrip())
    return "\n\n\n".join(parts) + "\n"


def _write_epub(book: Book, path: Path, *, include_synopsis: bool) -> None:
    from ebooklib import epub

    doc = epub.EpubBook()
    doc.set_identifier(book.identifier or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'inkstone:' + book.title)}")
    doc.set_title(_one_line(book.title) or "untitled")
    doc.set_language("zh" if book.language == "zh" else "en")
    if book.author:
        doc.add_author(book.author)
    items = []
    if include_synopsis and book.synopsis.strip():
        items.append(_epub_page("synopsis.xhtml", _labels(book.language)["synopsis"], book.synopsis, book.language))
    for index, chapter in enumerate(book.chapters, start=1):
        items.append(_epub_page(f"chapter_{index:04d}.xhtml", chapter.heading, chapter.text, book.language))
    for item in items:
        doc.add_item(item)
    doc.toc = tuple(items)
    doc.add_item(epub.EpubNcx())
    doc.add_item(epub.EpubNav())
    doc.spine = ["nav", *items]
    epub.write_epub(str(path), doc)


def _epub_page(file_name: str, heading: str, text: str, language: str):
    from ebooklib import epub

    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = epub.EpubHtml(title=_one_line(heading), file_name=file_name, lang=language)
    page.content = f"<h1>{html.escape(_one_line(heading))}</h1>{body}"
    return page


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    handle, tmp_name = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _labels(language: str) -> dict[str, str]:
    return _LABELS["zh" if language == "zh" else "en"]


def _truncate_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")[:max_bytes]
    return data.decode("utf-8", errors="ignore")  # drops a trailing half character


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _markdown_anchor(heading: str) -> str:
    """GitHub-style anchor: lower case, punctuation dropped (CJK kept), spaces to hyphens."""
    kept = "".join(ch for ch in _one_line(heading).lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _escape_markdown_block(text: str) -> str:
    """Prose lines that start like a heading are escaped so they stay prose (and re-import intact)."""
    return re.sub(r"(?m)^(\s*)#", r"\1\\#", text)
