"""Reviewable changes between a passage and its rewrite: a diff a writer can accept or reject change by change.

A diff at the level people read: English words (a word is never split), Chinese phrases (runs of
characters, never a chip per character). Raw edits come from a token diff (one token per CJK character,
per Latin word, per whitespace run, per other character); two edits separated only by "glue" — whitespace,
or at most two CJK characters / one word without a line break or sentence-ending punctuation — become one
change, so "他慢慢地走进了房间" → "他缓步踏进房间" reads as one or two phrase swaps instead of five chips.

Invariants (a test checks them on random texts):
- `apply_changes(pieces, all numbers)` == revised, `apply_changes(pieces, ())` == original;
- kept pieces never touch each other, nor do two changes (a change always has kept text or an end beside it);
- change numbers are 1, 2, 3… in text order; `Piece.start` is the offset of the piece in the original.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

_CJK_CLASS = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f"
)
_CJK = f"[{_CJK_CLASS}]"
_WORD_CHAR = rf"(?:(?!{_CJK})[^\W_])"
_TOKEN = re.compile(
    rf"{_CJK}"  # one CJK character
    rf"|{_WORD_CHAR}+(?:['’-]{_WORD_CHAR}+)*"  # a word, with inner apostrophes/hyphens
    r"|\s+"
    r"|.",
    re.DOTALL,
)
_HARD_STOP = re.compile(r"[\n。！？!?；;…]|[.](?:\s|$)")  # glue containing these never merges two changes
_CJK_CHAR = re.compile(_CJK)
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
MAX_GLUE_CJK = 2  # CJK characters of unchanged text that may sit inside one change
MAX_GLUE_WORDS = 1  # Latin words of unchanged text that may sit inside one change


@dataclass(frozen=True)
class Piece:
    """Kept text (`number` 0, before == after) or change number `number` (before → after)."""

    before: str
    after: str
    number: int = 0
    start: int = 0  # offset of `before` in the original text

    @property
    def is_change(self) -> bool:
        return self.number > 0


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _raw_edits(original: str, revised: str) -> list[tuple[str, str, bool]]:
    """(before, after, changed) runs from the token diff, in text order, neighbours never both kept."""
    before, after = tokenize(original), tokenize(revised)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    runs: list[tuple[str, str, bool]] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        old, new = "".join(before[a0:a1]), "".join(after[b0:b1])
        runs.append((old, new, tag != "equal"))
    return runs


def _is_glue(text: str) -> bool:
    """Unchanged text short enough to read as part of the change around it."""
    if not text.strip():
        return "\n" not in text
    if _HARD_STOP.search(text):
        return False
    cjk = len(_CJK_CHAR.findall(text))
    words = len([t for t in tokenize(text) if t.strip() and not _CJK_CHAR.fullmatch(t)])
    return (cjk <= MAX_GLUE_CJK and words == 0) or (cjk == 0 and words <= MAX_GLUE_WORDS)


def _merged(runs: list[tuple[str, str, bool]], *, glue: bool = True) -> list[tuple[str, str, bool]]:
    """Fold touching changes, and (with `glue`) change + glue + change, into one change (left to right, so
    chains fold too)."""
    out: list[tuple[str, str, bool]] = []
    for old, new, changed in runs:
        if glue and changed and len(out) >= 2 and not out[-1][2] and out[-2][2] and _is_glue(out[-1][0]):
            kept = out.pop()[0]
            prev_old, prev_new, _ = out.pop()
            out.append((prev_old + kept + old, prev_new + kept + new, True))
        elif changed and out and out[-1][2]:
            prev_old, prev_new, _ = out.pop()
            out.append((prev_old + old, prev_new + new, True))
        else:
            out.append((old, new, changed))
    return out


def _is_han(char: str) -> bool:
    return bool(char) and bool(_HAN.fullmatch(char))


def _widen_single_han(runs: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """A one-character Chinese swap (看→只) takes one kept Han character beside it (看见→只见): Chinese
    words are mostly two characters, and a lone-character chip is hard to read."""
    out = list(runs)
    for i, (old, new, changed) in enumerate(out):
        if not changed or max(len(old), len(new)) != 1 or not (_is_han(old) or _is_han(new)):
            continue
        after = out[i + 1] if i + 1 < len(out) else None
        before = out[i - 1] if i > 0 else None
        if after and not after[2] and _is_han(after[0][:1]):
            head, rest = after[0][:1], after[0][1:]
            out[i], out[i + 1] = (old + head, new + head, True), (rest, rest, False)
        elif before and not before[2] and _is_han(before[0][-1:]):
            tail, rest = before[0][-1:], before[0][:-1]
            out[i - 1], out[i] = (rest, rest, False), (tail + old, tail + new, True)
    return [run for run in out if run[0] or run[1]]


def review_changes(original: str, revised: str) -> list[Piece]:
    """The pieces of the review: kept text and numbered changes, in text order."""
    pieces: list[Piece] = []
    offset, number = 0, 0
    for old, new, changed in _merged(_widen_single_han(_merged(_raw_edits(original, revised))), glue=False):
        if not old and not new:
            continue
        if changed:
            number += 1
            pieces.append(Piece(old, new, number, offset))
        else:
            pieces.append(Piece(old, old, 0, offset))
        offset += len(old)
    return pieces


def change_numbers(pieces: Iterable[Piece]) -> list[int]:
    return [p.number for p in pieces if p.is_change]


def apply_changes(pieces: Iterable[Piece], accepted: Collection[int]) -> str:
    """The text with exactly the `accepted` change numbers applied (others keep the original wording)."""
    chosen = set(accepted)
    return "".join(p.after if p.number in chosen else p.before for p in pieces)
