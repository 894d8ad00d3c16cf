"""The recent text: cut from the front at a sentence boundary, in stable steps, under a token allowance.

Owns where the story text before the cursor starts in a prompt. Invariants:
- a cut lands right after a sentence end (。！？.!?… possibly followed by closing quotes/brackets) or
  a line break; only when a whole block has no boundary does it fall back to the block's anchor
  (still a whole character: Python strings never split one);
- candidate cuts sit on anchors at fixed multiples of `block_chars` from the start of the text, so
  appending text leaves the cut (and the prompt prefix before the text end) unchanged until the
  allowance overflows, and then it jumps a whole block forward;
- the kept text's token count never exceeds the allowance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?:[。！？!?.…]+[”’」』\"')）)\]]*|\n)")
LINE_END = re.compile(r"\n")  # transcripts are cut between messages only
MAX_CHARS_PER_TOKEN = 8  # generous: no tokenizer we meet averages more characters per token
SAMPLE_CHARS = 4000  # the tail measured for the text's density
BLOCKS_PER_ALLOWANCE = 3  # a jump drops about a third of the allowance


@dataclass(frozen=True)
class RecentCut:
    start: int  # index in the full text where the kept text begins
    text: str
    tokens: int
    at_sentence: bool  # False only when the fallback cut inside a sentence


def sentence_start_after(text: str, anchor: int, limit: int,
                         boundary: re.Pattern[str] = SENTENCE_END) -> tuple[int, bool]:
    """First index in [anchor, limit) right after a boundary, else (anchor, False)."""
    if anchor <= 0:
        return 0, True
    match = boundary.search(text, anchor - 1, limit)
    if match is None or match.end() > limit:
        return anchor, False
    start = match.end()
    while start < len(text) and text[start] in " \t\n\u3000":  # the kept text starts with a word
        start += 1
    return start, True


def density(text: str, count_tokens: Callable[[str], int]) -> tuple[float, int]:
    """(characters per token of the text's tail rounded to a power of two, tokens of that tail).

    Rounding keeps the value the same while the text grows, so the anchors stay where they were."""
    sample = text[-SAMPLE_CHARS:]
    sample_tokens = count_tokens(sample)
    ratio = len(sample) / max(1, sample_tokens)
    return 2.0 ** round(math.log2(min(max(ratio, 1 / 8), MAX_CHARS_PER_TOKEN))), sample_tokens


def cut_recent(text: str, allowance: int, count_tokens: Callable[[str], int],
               boundary: re.Pattern[str] = SENTENCE_END) -> RecentCut:
    """Keep the longest tail of `text` that fits `allowance` tokens, starting on a stable anchor
    and right after a `boundary` (sentence ends by default). Only about twice the allowance is
    ever tokenized, however long the text."""
    if allowance <= 0 or not text:
        return RecentCut(len(text), "", 0, True)
    chars_per_token, sample_tokens = density(text, count_tokens)
    if len(text) <= SAMPLE_CHARS and sample_tokens <= allowance:
        return RecentCut(0, text, sample_tokens, True)
    reach = int(allowance * chars_per_token * 2)  # no tail longer than this can fit
    if len(text) <= reach and count_tokens(text) <= allowance:
        return RecentCut(0, text, count_tokens(text), True)
    block = max(16, int(allowance * chars_per_token / BLOCKS_PER_ALLOWANCE))
    low = max(1, (len(text) - reach) // block)
    high = math.ceil(len(text) / block)  # cutting at (or past) the end keeps nothing: always fits
    while low < high:  # smallest block index whose cut fits (token counts shrink as k grows)
        middle = (low + high) // 2
        if _cut(text, middle, block, count_tokens, boundary).tokens <= allowance:
            high = middle
        else:
            low = middle + 1
    return _cut(text, low, block, count_tokens, boundary)


def _cut(text: str, k: int, block: int, count_tokens: Callable[[str], int], boundary: re.Pattern[str]) -> RecentCut:
    anchor = min(k * block, len(text))
    start, at_sentence = sentence_start_after(text, anchor, min(anchor + block, len(text)), boundary)
    kept = text[start:]
    return RecentCut(start, kept, count_tokens(kept) if kept else 0, at_sentence)


def paragraphs(text: str) -> list[str]:
    """Non-empty lines, oldest first (the unit of scan depth and insertion depth)."""
    return [line for line in text.split("\n") if line.strip()]


def insert_at_depth(text: str, inserts: list[tuple[int, str]]) -> str:
    """Insert each (depth, block) before the depth-th non-empty line from the end (depth >= 1).

    Blocks with equal depth keep their given order; a depth beyond the text puts the block first."""
    if not inserts:
        return text
    lines = text.split("\n")
    content_rows = [i for i, line in enumerate(lines) if line.strip()]
    by_row: dict[int, list[str]] = {}
    for depth, block in inserts:
        depth = max(1, depth)
        row = content_rows[-depth] if len(content_rows) >= depth else 0
        by_row.setdefault(row, []).append(block)
    out: list[str] = []
    for i, line in enumerate(lines):
        for block in by_row.get(i, ()):
            out.append(block.rstrip("\n"))
        out.append(line)
    return "\n".join(out)
