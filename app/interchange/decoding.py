"""Manuscript bytes → text, with the encoding detected and named (UTF-8, UTF-16/32, GB18030/GBK, Big5).

Owns the detection ladder; each rung decodes strictly (no replacement characters) and is tried in
order, the first that holds wins:
1. a byte-order mark: UTF-8-SIG, UTF-32 LE/BE, UTF-16 LE/BE;
2. UTF-8;
3. UTF-16 without a BOM, when one byte of each pair is mostly NUL (ASCII-heavy UTF-16 text);
4. GB18030 (a superset of GBK and GB2312), when at least 90 % of the non-ASCII characters it yields
   are GB2312 characters — what Chinese prose is made of; bytes in another encoding decode to rare
   characters and fail this;
5. Big5, when at least 90 % of its non-ASCII characters are CJK ideographs or CJK punctuation.
Otherwise `UndetectedEncoding` is raised, naming the first bad UTF-8 byte and its line. The text
returned is NFC-normalised with "\n" line ends.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8"), (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))
PLAUSIBLE_SHARE = 0.9
_NUL_SHARE = 0.3  # of the bytes at even (or odd) offsets, for UTF-16 without a BOM
_SAMPLE_BYTES = 2 * 1024 * 1024  # plausibility is judged on the first 2 MB


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a display name: "UTF-8", "UTF-16", "GB18030", "Big5", ...


class UndetectedEncoding(ValueError):
    """No encoding of the ladder reads these bytes; `position`/`line` locate the first bad UTF-8 byte."""

    def __init__(self, position: int, line: int):
        super().__init__(f"encoding not detected (first byte that is not UTF-8: {position}, line {line})")
        self.position = position
        self.line = line


def decode_text(data: bytes) -> Decoded:
    """Detect the encoding (see the module docstring) and decode; raises UndetectedEncoding."""
    for bom, codec, name in BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom):], codec.replace("-sig", ""))
            if text is not None:
                return _normalised(text, name)
    text = _strict(data, "utf-8")
    if text is not None:
        return _normalised(text, "UTF-8")
    for codec, name, plausible in _LADDER:
        if codec.startswith("utf-16") and not _looks_utf16(data, little=codec.endswith("le")):
            continue
        text = _strict(data, codec)
        if text is not None and plausible(text[: _SAMPLE_BYTES // 2]):
            return _normalised(text, name)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndetectedEncoding(exc.start, data[: exc.start].count(b"\n") + 1) from None
    raise UndetectedEncoding(0, 1)  # unreachable: UTF-8 was refused above


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _normalised(text: str, name: str) -> Decoded:
    return Decoded(unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")), name)


def _looks_utf16(data: bytes, little: bool) -> bool:
    sample = data[:_SAMPLE_BYTES]
    if len(sample) < 4 or len(sample) % 2:
        return False
    high = sample[1::2] if little else sample[0::2]
    return high.count(0) / len(high) >= _NUL_SHARE


def _share(text: str, accepted: Callable[[str], bool]) -> float:
    counts = Counter(ch for ch in text if ord(ch) > 0x7F)
    total = sum(counts.values())
    if not total:
        return 0.0
    return sum(n for ch, n in counts.items() if accepted(ch)) / total


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF
            or 0x2010 <= code <= 0x2027)


_LADDER: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("utf-16-le", "UTF-16", lambda text: "\x00" not in text),
    ("utf-16-be", "UTF-16", lambda text: "\x00" not in text),
    ("gb18030", "GB18030", lambda text: _share(text, _in_gb2312) >= PLAUSIBLE_SHARE),
    ("big5", "Big5", lambda text: _share(text, _is_cjk) >= PLAUSIBLE_SHARE),
)
