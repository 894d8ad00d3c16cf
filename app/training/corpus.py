"""Training text: novels split into chapters, chapters into short documents, a held-out split,
and the packed token stream the trainer samples windows from.

Documents are runs of whole paragraphs (a few hundred characters) so that the model sees an
end-of-text marker often and learns to stop; the packed stream is doc0 <eos> doc1 <eos> ...
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

ZH_HEADING = re.compile(r"^### (第.+回.*)$", re.MULTILINE)
EN_HEADING = re.compile(r"^(Chapter \d+)\s*$", re.MULTILINE)
EN_TRAILER = "End of the Project Gutenberg EBook"


@dataclass(frozen=True)
class Chapter:
    title: str
    text: str


@dataclass(frozen=True)
class CorpusSplit:
    """Training documents and held-out documents (the last chapters of each book)."""

    train: tuple[str, ...]
    heldout: tuple[str, ...]


def split_chapters(text: str, heading: re.Pattern[str]) -> list[Chapter]:
    """Chapters between `heading` lines; text before the first heading is dropped (front matter)."""
    marks = list(heading.finditer(text))
    chapters = []
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        body = text[mark.end() : end].split(EN_TRAILER, 1)[0]
        body = body.replace("\n----\n", "\n").strip()
        if body:
            chapters.append(Chapter(mark.group(1).strip(), body))
    return chapters


def paragraphs(text: str) -> list[str]:
    """Paragraphs: blank-line separated blocks (English) or single lines (Chinese), rewrapped.

    English Gutenberg text hard-wraps lines inside a paragraph; those breaks become spaces.
    """
    blocks = re.split(r"\n\s*\n", text) if "\n\n" in text else text.splitlines()
    cleaned = (" ".join(line.strip() for line in block.splitlines()) for block in blocks)
    return [block for block in cleaned if block]


def documents(chapter: Chapter, rng: random.Random, min_chars: int = 120, max_chars: int = 700) -> list[str]:
    """Cut a chapter into documents of whole paragraphs, each about min..max characters long.

    The first document of a chapter starts with its title, as a writer's chapter would.
    """
    docs: list[str] = []
    current: list[str] = [chapter.title]
    target = rng.randint(min_chars, max_chars)
    for paragraph in paragraphs(chapter.text):
        current.append(paragraph)
        if sum(len(p) for p in current) >= target:
            docs.append("\n\n".join(current))
            current, target = [], rng.randint(min_chars, max_chars)
    if current and (docs or len(current) > 1):
        docs.append("\n\n".join(current))
    return docs


def split_books(books: Sequence[list[Chapter]], heldout_chapters: int, seed: int = 0) -> CorpusSplit:
    """The last `heldout_chapters` chapters of every book are held out; the rest is training text."""
    rng = random.Random(seed)
    train: list[str] = []
    heldout: list[str] = []
    for chapters in books:
        cut = len(chapters) - heldout_chapters
        for index, chapter in enumerate(chapters):
            (train if index < cut else heldout).extend(documents(chapter, rng))
    rng.shuffle(train)
    return CorpusSplit(tuple(train), tuple(heldout))


def pack(docs: Iterable[str], encode: Callable[[str], list[int]], eos_id: int) -> torch.Tensor:
    """[L] int64 token stream: every document followed by eos."""
    ids: list[int] = []
    for doc in docs:
        ids.extend(encode(doc))
        ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def sample_windows(stream: torch.Tensor, batch_size: int, length: int, seed: int) -> torch.Tensor:
    """[B, length + 1] random windows of the stream; the same seed gives the same windows."""
    generator = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, stream.numel() - length - 1, (batch_size,), generator=generator)
    offsets = torch.arange(length + 1)
    return stream[starts[:, None] + offsets[None, :]]
