"""Near-miss names: a spelling close to a known name or alias that is not itself known (林薇 for 林微).

Chinese: a window of the known name's length is a near miss when it shares at least one character in
place with the name and either reads the same (toneless pinyin, any reading of a polyphone) or, for
names of three or more characters, differs in one character whose pinyin is one letter away. A name
that reads differently (a genuinely new character) is not flagged.
English: a capitalised word not in any known name is a near miss when it starts with the same letter
as a known name word and is within edit distance 1 (2 for words of 7+ letters); common words at the
start of a sentence are ignored.
Complexity: O(passage length × longest name) dictionary look-ups (names are indexed up front).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from .facts import KnownName, StoryFacts
from .findings import NAME_NEAR_MISS, Finding, Span
from .text import CJK, COMMON_EN_WORDS, edit_distance, is_sentence_start, occurrences

try:  # pypinyin is a runtime dependency; without it only the one-character rule runs for Chinese
    from pypinyin import Style, pinyin as _pinyin
except ImportError:  # pragma: no cover - exercised only where pypinyin is missing
    _pinyin = None  # type: ignore[assignment]
from .segment import word_boundaries

EN_WORD = re.compile(r"\b[A-Z][a-z]{2,}\b")
MAX_READINGS = 8  # polyphone combinations tried per window


@lru_cache(maxsize=20_000)
def readings(char: str) -> frozenset[str]:
    """Toneless pinyin readings of one character (the character itself when it has none)."""
    if _pinyin is None or not CJK.fullmatch(char):
        return frozenset({char})
    return frozenset(_pinyin(char, style=Style.NORMAL, heteronym=True)[0])


def _reading_keys(text: str) -> list[tuple[str, ...]]:
    combos = itertools.islice(itertools.product(*(sorted(readings(c)) for c in text)), MAX_READINGS)
    return [tuple(c) for c in combos]


@dataclass
class _ZhIndex:
    by_reading: dict[tuple[str, ...], list[KnownName]]
    by_wildcard: dict[str, list[tuple[KnownName, int]]]
    lengths: tuple[int, ...]
    known: frozenset[str]
    in_place: frozenset[tuple[int, int, str]]  # (name length, position, character) of every known name


def _zh_index(facts: StoryFacts) -> _ZhIndex:
    by_reading: dict[tuple[str, ...], list[KnownName]] = {}
    by_wildcard: dict[str, list[tuple[KnownName, int]]] = {}
    for name in facts.names:
        if not 2 <= len(name.text) <= 6 or not all(CJK.fullmatch(c) for c in name.text):
            continue
        for key in _reading_keys(name.text):
            by_reading.setdefault(key, []).append(name)
        if len(name.text) >= 3:
            for p in range(len(name.text)):
                by_wildcard.setdefault(name.text[:p] + "*" + name.text[p + 1:], []).append((name, p))
    indexed = {n.text for names in by_reading.values() for n in names}
    lengths = tuple(sorted({len(t) for t in indexed}))
    in_place = frozenset((len(t), j, c) for t in indexed for j, c in enumerate(t))
    return _ZhIndex(by_reading, by_wildcard, lengths, _known_texts(facts), in_place)


def _known_texts(facts: StoryFacts) -> frozenset[str]:
    terms = [t.canonical for t in facts.glossary]
    return frozenset([*(n.text for n in facts.names), *terms, *facts.allowed])


def _covered(passage: str, texts: frozenset[str]) -> list[tuple[int, int] | None]:
    """covered[i]: the longest occurrence (start, end) of a known name, term or allowed word over i."""
    covered: list[tuple[int, int] | None] = [None] * len(passage)
    for text in sorted(texts, key=len):
        for start in occurrences(passage, text, True):
            for i in range(start, start + len(text)):
                covered[i] = (start, start + len(text))
    return covered


def _blocked(covered: list[tuple[int, int] | None], start: int, end: int) -> bool:
    """A window is blocked by a known occurrence it cuts into (one it wholly contains does not block:
    肖长风 holds the alias 长风 and is still a near miss of 萧长风)."""
    return any(span is not None and (span[0] < start or span[1] > end) for span in covered[start:end])


def _zh_match(window: str, index: _ZhIndex) -> tuple[KnownName, str] | None:
    for key in _reading_keys(window):
        for name in index.by_reading.get(key, ()):
            if name.text != window and any(a == b for a, b in zip(name.text, window)):
                return name, "same_pinyin"
    for p in range(len(window)) if len(window) >= 3 else ():
        for name, _ in index.by_wildcard.get(window[:p] + "*" + window[p + 1:], ()):
            near = min(edit_distance(a, b, 2) for a in readings(window[p]) for b in readings(name.text[p]))
            if near <= 1:
                return name, "one_char"
    return None


def _zh_near_misses(passage: str, facts: StoryFacts) -> Iterator[Finding]:
    index = _zh_index(facts)
    covered = _covered(passage, index.known)
    boundaries: frozenset[int] | None = None  # segmented lazily, at the first candidate
    start = 0
    while start < len(passage):
        hit = None
        for length in reversed(index.lengths):
            window = passage[start:start + length]
            if len(window) < length or window in index.known:
                continue
            if not any((length, j, c) in index.in_place for j, c in enumerate(window)):
                continue  # shares no character in place with any known name of this length
            if _blocked(covered, start, start + length) or not all(CJK.fullmatch(c) for c in window):
                continue
            hit = _zh_match(window, index)
            if hit and boundaries is None:
                boundaries = word_boundaries(passage)
            if hit and boundaries and start not in boundaries and start + length not in boundaries:
                hit = None  # both ends cut through words (树|林为|首): not a name
            if hit:
                yield _finding(passage, start, length, *hit)
                break
        start += len(hit[0].text) if hit else 1


def _en_near_misses(passage: str, facts: StoryFacts) -> Iterator[Finding]:
    known_words: dict[str, KnownName] = {}
    for name in facts.names:
        for word in EN_WORD.findall(name.text):
            known_words.setdefault(word, name)
    known = _known_texts(facts)
    known_lower = {k.lower() for k in known} | {w.lower() for w in known_words}
    for match in EN_WORD.finditer(passage):
        word = match.group()
        if word.lower() in known_lower or (word.lower() in COMMON_EN_WORDS and is_sentence_start(passage, match.start())):
            continue
        best = _closest(word, known_words)
        if best is not None:
            yield _finding(passage, match.start(), len(word), best, "edit_distance")


def _closest(word: str, known_words: dict[str, KnownName]) -> KnownName | None:
    limit = 2 if len(word) >= 7 else 1
    best: tuple[int, KnownName] | None = None
    for known_word, name in known_words.items():
        if known_word[0] != word[0] or len(known_word) < 4 or abs(len(known_word) - len(word)) > limit:
            continue
        distance = edit_distance(word.lower(), known_word.lower(), limit + 1)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


def _finding(passage: str, start: int, length: int, name: KnownName, reason: str) -> Finding:
    found = passage[start:start + length]
    return Finding(NAME_NEAR_MISS, "medium", Span(start, start + length, found), name.canonical, name.evidence,
                   {"found": found, "expected": name.text, "canonical": name.canonical, "rule": reason})


def near_miss_names(passage: str, facts: StoryFacts) -> list[Finding]:
    finder = _zh_near_misses if facts.language == "zh" else _en_near_misses
    return list(finder(passage, facts))


def established_spellings(book_text: str, facts: StoryFacts, min_count: int = 3) -> frozenset[str]:
    """Near-miss spellings the book itself already uses at least `min_count` times (another character's
    real name such as Mary beside Mara, not a slip): pass them as `StoryFacts.allowed`."""
    counts: dict[str, int] = {}
    for finding in near_miss_names(book_text, facts):
        counts[finding.span.quote] = counts.get(finding.span.quote, 0) + 1
    return frozenset(spelling for spelling, count in counts.items() if count >= min_count)
