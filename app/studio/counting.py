"""How long a text is, the way writers count it: 字数 for Chinese, words for English.

One rule for both, the one word processors use for mixed text: every CJK character (Han, kana, Hangul,
full-width punctuation) counts one, every run of Latin letters/digits (with inner apostrophes or
hyphens) counts one, whitespace and ASCII punctuation count nothing. So "他说：OK。" is 5 and
"Mara's lamp-light" is 2. Platforms that count 字数 with spaces differ by the spaces only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
_WORD = re.compile(r"(?:(?![\u2e80-\u9fff\uac00-\ud7af\uf900-\uffef])[^\W_])+(?:['’-](?:(?![\u2e80-\u9fff])[^\W_])+)*")


@dataclass(frozen=True)
class TextCount:
    cjk: int  # CJK characters (incl. full-width punctuation)
    words: int  # Latin words / numbers

    @property
    def total(self) -> int:
        """字数 (zh) or the word count (en): CJK characters plus Latin words."""
        return self.cjk + self.words


def count_text(text: str) -> TextCount:
    text = text or ""
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(_CJK.sub(" ", text)))
    return TextCount(cjk=cjk, words=words)
