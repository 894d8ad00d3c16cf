"""What a manuscript carries besides its chapters: Project Gutenberg's header and licence, and a table
of contents. Pure text functions used by app.interchange.manuscript.

Rules:
- Gutenberg: a book with the START line below, or one opening with "Produced by …" (header already
  removed). The text between the `*** START OF THE/THIS PROJECT GUTENBERG EBOOK … ***` line and the
  first `*** END OF …` (or older `End of [the] Project Gutenberg's …`) line is the book; what lies
  outside is header and licence. Without a START line nothing is cut.
- A table of contents is a run of at least `MIN_TOC_ENTRIES` heading lines with only blank lines
  between them, at least half of which appear again later as headings; its lines (and a
  "Contents"/"目录" line just above it) are not chapters.
- A prose paragraph is a blank-line-separated block of at least `PROSE_CHARS` characters (a third of
  that for CJK text): a Gutenberg title page ("Produced by …", title, author) has none.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_TOC_ENTRIES = 3
MAX_LEAD_ENTRIES = 12
PROSE_CHARS = 300
_START = re.compile(r"^\s*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$", re.IGNORECASE | re.MULTILINE)
_END = re.compile(r"^\s*(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b|End of (?:the )?Project "
                  r"Gutenberg(?:'s)?\b).*$", re.IGNORECASE | re.MULTILINE)
_PRODUCED = re.compile(r"^Produced by\b", re.IGNORECASE)
_CONTENTS = re.compile(r"^\s*#*\s*(?:table of )?contents\.?\s*$|^\s*#*\s*目\s*录\s*$", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Skipped:
    """A part of the file that was not imported: `kind` is gutenberg_header | gutenberg_licence |
    table_of_contents | front_matter; `chars` its size; `sample` its first line (for the preview)."""

    kind: str
    chars: int
    sample: str


def strip_gutenberg(text: str) -> tuple[str, list[Skipped]]:
    """The book between Gutenberg's START and END lines, and what was cut; unchanged if no START line."""
    start = _START.search(text)
    if not start:
        return text, []
    end = _END.search(text, start.end())
    body_end = end.start() if end else len(text)
    skipped = [Skipped("gutenberg_header", start.end(), _first_line(text[: start.end()]))]
    if end:
        skipped.append(Skipped("gutenberg_licence", len(text) - body_end, _first_line(text[body_end:])))
    return text[start.end(): body_end].strip("\n"), skipped


def gutenberg_like(text: str, had_markers: bool) -> bool:
    """A Gutenberg book: it had the START line, or (header already removed) opens "Produced by …"."""
    return had_markers or bool(_PRODUCED.match(_first_line(text)))


def has_prose(text: str) -> bool:
    limit = PROSE_CHARS // 3 if _CJK.search(text) else PROSE_CHARS
    return any(len(" ".join(block.split())) >= limit for block in re.split(r"\n\s*\n", text))


def toc_lines(lines: Sequence[str], heading_of: Callable[[str], str | None]) -> set[int]:
    """Indexes of the lines that form tables of contents (see the module docstring)."""
    headings = [(i, title) for i, line in enumerate(lines) if (title := heading_of(line)) is not None]
    found: set[int] = set()
    for run in _dense_runs(lines, headings):
        later = sorted({_key(t) for i, t in headings if i > run[-1][0]} - {""})
        recurring = sum(_names_a_heading(_key(title), later) for _, title in run)
        if recurring * 2 >= len(run):
            found.update(i for i, _ in run)
            found.update(_contents_line(lines, run[0][0]))
    return found


def _dense_runs(lines: Sequence[str], headings: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    runs: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for index, title in headings:
        adjacent = current and all(not lines[j].strip() for j in range(current[-1][0] + 1, index))
        if adjacent and _key(title) not in {_key(t) for _, t in current}:  # a repeat starts the real chapters
            current.append((index, title))
            continue
        if len(current) >= MIN_TOC_ENTRIES:
            runs.append(current)
        current = [(index, title)]
    if len(current) >= MIN_TOC_ENTRIES:
        runs.append(current)
    return runs


def _contents_line(lines: Sequence[str], first: int) -> list[int]:
    """The "Contents" line above a run starting at `first`, with the short entries between them that
    are not headings ("ETYMOLOGY.", "Preface"): at most MAX_LEAD_ENTRIES lines of < 80 characters."""
    above, entries = first - 1, 0
    while above >= 0 and entries <= MAX_LEAD_ENTRIES:
        line = lines[above].strip()
        if _CONTENTS.match(lines[above]):
            return list(range(above, first))
        if line:
            if len(line) >= 80:
                return []
            entries += 1
        above -= 1
    return []


def _key(title: str) -> str:
    return "".join(ch for ch in title.casefold() if ch.isalnum())


def _names_a_heading(toc_key: str, later: list[str]) -> bool:
    """A contents entry names a later heading: equal keys, or one a prefix of the other ("chapter1
    loomings5" with a page number vs "chapter1loomings"; "chapter1" vs "chapter1loomings").
    `later` is sorted; cost O(len(toc_key) · log n)."""
    if not toc_key:
        return False
    at = bisect.bisect_left(later, toc_key)
    if at < len(later) and later[at].startswith(toc_key):
        return True
    return any(_contains(later, toc_key[:n]) for n in range(len(toc_key) - 1, max(2, len(toc_key) // 2), -1))


def _contains(ordered: list[str], key: str) -> bool:
    at = bisect.bisect_left(ordered, key)
    return at < len(ordered) and ordered[at] == key


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()[:120]
    return ""
