"""Word/character-level diff of an original passage and its polished version.

Tokens: each CJK character (Han, kana, Hangul, CJK punctuation) is one token; a run of letters or
digits is one token (a word); a run of whitespace is one token; every other character is its own
token. Invariants: concatenating the "equal" and "delete" ops gives the original exactly, the
"equal" and "insert" ops give the revised text exactly, and adjacent ops never share a kind.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

_CJK = (
    r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
_WORD_CHAR = rf"(?:(?!{_CJK})[^\W_])"
_TOKEN = re.compile(
    rf"{_CJK}"  # one CJK character
    rf"|{_WORD_CHAR}+(?:['’]{_WORD_CHAR}+)*"  # a word (letters/digits, with inner apostrophes)
    r"|\s+"
    r"|.",
    re.DOTALL,
)


@dataclass(frozen=True)
class DiffOp:
    kind: Literal["equal", "insert", "delete"]
    text: str


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def diff_texts(original: str, revised: str) -> list[DiffOp]:
    """Minimal-ish edit script between the two texts at word (Latin) / character (CJK) level."""
    before, after = tokenize(original), tokenize(revised)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    ops: list[DiffOp] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            _append(ops, "equal", "".join(before[a0:a1]))
            continue
        if tag in ("delete", "replace"):
            _append(ops, "delete", "".join(before[a0:a1]))
        if tag in ("insert", "replace"):
            _append(ops, "insert", "".join(after[b0:b1]))
    return ops


def _append(ops: list[DiffOp], kind: Literal["equal", "insert", "delete"], text: str) -> None:
    if not text:
        return
    if ops and ops[-1].kind == kind:
        ops[-1] = DiffOp(kind, ops[-1].text + text)
    else:
        ops.append(DiffOp(kind, text))
