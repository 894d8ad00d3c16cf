"""A documented token-count estimate for when no tokenizer is at hand (marked inexact in EngineInfo).

Rule: every CJK character (Han, kana, hangul, CJK punctuation and full-width forms) counts as one
token, and every other run of text counts as one token per 4 characters, rounded up. XVERSE's
tokenizer and other modern BPE vocabularies land near these ratios (≈1–1.5 Chinese characters and
≈4 English characters per token); the estimate errs on the high side for Chinese, which is the
safe side when fitting a prompt into a context budget.
"""

from __future__ import annotations

import math

_CJK_RANGES = (
    (0x3000, 0x303F),  # CJK punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x3134F),  # CJK extensions B–H
)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def estimate_tokens(text: str) -> int:
    """Estimated token count of `text` (0 for the empty string)."""
    cjk = sum(1 for char in text if is_cjk(char))
    other = len(text) - cjk
    return cjk + math.ceil(other / 4)
